// A policy version's rollout, id `policy-rollout/<version>`, started when the version is applied
// (`provisioner policy apply`): it evaluates everyone in the store under the previous and the new
// version (one heartbeating activity; the affected set stays in the store), then asks the people
// whose desired access changes to plan again, a batch at a time at the configured rate. Each person's
// change goes through their identity workflow, whose destructive steps ask the fence under the
// rollout's source (`policy/<short hash>`): a change that removes access from more people than the
// fence allows waits there for a release. A newer version applied meanwhile stops this one.
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { PolicyRolloutActivities } from '../activities/policy-rollout.js';
import { bookkeepingOptions } from './activity-options.js';

const { signalPolicyRolloutBatch, finishPolicyRollout } = proxyActivities<PolicyRolloutActivities>({ ...bookkeepingOptions, startToCloseTimeout: '2 minutes', heartbeatTimeout: '1 minute' });
// Evaluating a large population takes minutes; the heartbeat carries the cursor a retry resumes from.
const { evaluatePolicyRollout } = proxyActivities<PolicyRolloutActivities>({ ...bookkeepingOptions, startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute' });

/** The version, or `<version>@<seq>` when a version is applied again (store/policy-applied.ts). */
export const policyRolloutWorkflowId = (rolloutId: string): string => `policy-rollout/${rolloutId}`;

/**
 * The re-evaluation a rollout asks of each person: request id `policy/<rollout id>` (so their
 * outcome's change id is `reevaluate/policy/<rollout id>`), counted by the fence under `policy/<short hash>`.
 */
export function rolloutRequest(rolloutId: string, reason: string): { requestId: string; source: string; reason: string } {
  return { requestId: `policy/${rolloutId}`, source: `policy/${rolloutId.replace(/^sha256:/, '').slice(0, 8)}`, reason };
}

/**
 * The rollout a person's change comes from, when it is a rollout's re-evaluation (change id
 * `reevaluate/policy/<rollout id>`): the version, and the applied sequence when the rollout id names
 * one (`<version>@<seq>`, a version applied again). Undefined for any other change.
 */
export function rolloutOfChange(changeId: string): { version: string; seq?: number } | undefined {
  const m = /^reevaluate\/policy\/([^@/]+)(?:@(\d+))?$/.exec(changeId);
  if (!m) return undefined;
  return m[2] === undefined ? { version: m[1]! } : { version: m[1]!, seq: Number(m[2]) };
}

export type PolicyRolloutInput = {
  /** The applied version's sequence number in the store (policy_applied.seq). */
  seq: number;
  version: string;
  /** The version, or `<version>@<seq>` when it was applied before: names the workflow and the people's re-evaluation. */
  rolloutId: string;
  /** The reason the people's changes carry (no personal data). */
  reason: string;
  /** How many people are asked to plan again per second, and per batch. */
  ratePerSecond: number;
  batchSize: number;
};

export type PolicyRolloutResult = { evaluated: number; changed: number; signalled: number; status: 'completed' | 'superseded' };

export async function policyRollout(input: PolicyRolloutInput): Promise<PolicyRolloutResult> {
  const { taskQueue } = workflowInfo();
  const { evaluated, changed } = await evaluatePolicyRollout({ seq: input.seq });
  let signalled = 0;
  for (;;) {
    const batch = await signalPolicyRolloutBatch({ seq: input.seq, version: input.version, rolloutId: input.rolloutId, taskQueue, limit: input.batchSize, reason: input.reason });
    if (batch.superseded) return { evaluated, changed, signalled, status: 'superseded' };
    signalled += batch.signalled;
    if (batch.signalled < input.batchSize) break;
    // Paced like a feed: the next batch waits its share of the rate.
    await sleep(Math.ceil((batch.signalled / input.ratePerSecond) * 1000));
  }
  await finishPolicyRollout({ seq: input.seq, version: input.version, status: 'completed' });
  return { evaluated, changed, signalled, status: 'completed' };
}
