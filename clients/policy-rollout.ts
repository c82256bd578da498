// Starting a policy version's rollout (workflows/policy-rollout.ts): once per applied version, by
// the API that applied it, and by the workers for a version the store still has `pending` (its apply
// could not start it: runtime/pending-rollouts.ts). A start while that version's rollout runs is a
// no-op; once it closed, a start runs it again, which is harmless (its people were signalled once
// each, recorded in the store). Workflow ids are per Temporal namespace, rollout ids per store: a
// store that applies a version another store applied before (a reset demo, the tests) must run it.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { getAppliedPolicy, rolloutCounts, type RolloutCounts, type RolloutStatus } from '../store/policy-applied.js';
import type { Store } from '../store/index.js';
import { policyRolloutWorkflowId, rolloutRequest, type PolicyRolloutInput, type PolicyRolloutResult } from '../workflows/policy-rollout.js';
import { heldCountBySource } from '../store/fence.js';
import { fenceWorkflowId } from '../workflows/fence-messages.js';
import type { policyRollout } from '../workflows/policy-rollout.js';

export { policyRolloutWorkflowId };

/** The rollout of an applied version as the API and the workers start it, at the configured pace (config `policy`). */
export function appliedRolloutInput(applied: { seq: number; version: string; rolloutId: string }, pace: { rolloutPerSecond: number; rolloutBatchSize: number }): PolicyRolloutInput {
  return { seq: applied.seq, version: applied.version, rolloutId: applied.rolloutId, reason: `policy ${applied.version} applied`, ratePerSecond: pace.rolloutPerSecond, batchSize: pace.rolloutBatchSize };
}

/** Starts the rollout of an applied version unless it runs; resolves with its workflow id. */
export async function startPolicyRollout(client: Client, taskQueue: string, input: PolicyRolloutInput): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = policyRolloutWorkflowId(input.rolloutId);
  try {
    await client.workflow.start<typeof policyRollout>('policyRollout', { workflowId, taskQueue, args: [input], workflowIdReusePolicy: 'ALLOW_DUPLICATE' });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}

/** Waits for a rollout to finish (tests, the benchmark). */
export async function policyRolloutResult(client: Client, rolloutId: string): Promise<PolicyRolloutResult> {
  return client.workflow.getHandle<typeof policyRollout>(policyRolloutWorkflowId(rolloutId)).result();
}

/** `provisioner policy rollout` and GET /policy/rollouts: how far an applied version's rollout got. */
export type PolicyRolloutView = {
  version: string;
  rolloutId: string;
  previousVersion: string | null;
  appliedBy: string | null;
  appliedAt: string;
  reason?: string;
  status: RolloutStatus;
  workflowId: string;
  /** People evaluated under both versions, and those whose desired access differs. */
  evaluated: number;
  changed: number;
  /** Asked to plan again through their workflow. */
  signalled: number;
  /** Their change `reevaluate/policy/<rollout id>` succeeded. */
  converged: number;
  /** Their change ended `failed` or `action-required`. */
  failed: number;
  /** Outcomes recorded, by status. */
  outcomes: Record<string, number>;
  /** Their destructive steps wait for a release (the fence's held requests under the rollout's source); null when the fence could not be asked. */
  heldByFence: number | null;
  error?: string;
  /** The people changed (at most 200), with their outcome once recorded. */
  people: RolloutCounts['people'];
};

/** The view of an applied version (by hash; default the newest), or undefined when none was applied. */
export async function policyRolloutView(store: Store, taskQueue: string, version?: string): Promise<PolicyRolloutView | undefined> {
  const applied = await getAppliedPolicy(store.pool, store.keys.kek, version ? { version } : {});
  if (!applied) return undefined;
  const request = rolloutRequest(applied.rolloutId, '');
  const counts = await rolloutCounts(store.pool, { seq: applied.seq, changeId: `reevaluate/${request.requestId}` });
  let heldByFence: number | null = null;
  try {
    // The fence counts and holds in the store (store/fence.ts).
    heldByFence = await heldCountBySource(store.pool, fenceWorkflowId(taskQueue), request.source);
  } catch {
    heldByFence = null;
  }
  const outcome = (s: string): number => counts.outcomes[s] ?? 0;
  return {
    version: applied.version,
    rolloutId: applied.rolloutId,
    previousVersion: applied.previousVersion,
    appliedBy: applied.appliedBy,
    appliedAt: applied.appliedAt.toISOString(),
    ...(applied.reason !== undefined ? { reason: applied.reason } : {}),
    status: applied.status,
    workflowId: policyRolloutWorkflowId(applied.rolloutId),
    evaluated: applied.evaluated,
    changed: applied.changed,
    signalled: counts.signalled,
    converged: outcome('succeeded'),
    failed: outcome('failed') + outcome('action-required'),
    outcomes: counts.outcomes,
    heldByFence,
    ...(applied.rolloutError ? { error: applied.rolloutError } : {}),
    people: counts.people,
  };
}

/** The view as text: one line per figure, then the people changed. */
export function formatPolicyRollout(v: PolicyRolloutView): string {
  const lines = [
    `policy ${v.version} applied by ${v.appliedBy ?? '(purged)'} at ${v.appliedAt}${v.reason ? `: ${v.reason}` : ''}`,
    `previous version  ${v.previousVersion ?? 'none'}`,
    `rollout           ${v.status} (workflow ${v.workflowId})${v.error ? `: ${v.error}` : ''}`,
    `evaluated         ${v.evaluated}`,
    `changed           ${v.changed}`,
    `signalled         ${v.signalled}`,
    `converged         ${v.converged}`,
    `held by the fence ${v.heldByFence ?? 'unknown (the fence could not be asked)'}`,
    `failed            ${v.failed}`,
  ];
  const other = Object.entries(v.outcomes).filter(([s]) => !['succeeded', 'failed', 'action-required'].includes(s));
  if (other.length > 0) lines.push(`other outcomes    ${other.map(([s, n]) => `${s} ${n}`).join(', ')}`);
  if (v.people.length > 0) {
    lines.push('', 'employee  gains  loses  signalled  outcome');
    for (const p of v.people) lines.push(`${p.employeeId.padEnd(8)}  ${String(p.gains).padStart(5)}  ${String(p.loses).padStart(5)}  ${(p.signalled ? 'yes' : 'no').padEnd(9)}  ${p.outcome ?? '-'}`);
    if (v.people.length < v.changed) lines.push(`(first ${v.people.length} of ${v.changed})`);
  }
  return `${lines.join('\n')}\n`;
}
