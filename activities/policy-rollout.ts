// A policy version's rollout (workflows/policy-rollout.ts): which people its change moves, computed
// from the store (every stored snapshot and live grant, evaluated under the previous version and the
// new one by policy/diff.ts), and asking each of them, a batch at a time, to plan again through their
// identity workflow (the reevaluationRequested signal). The affected set stays in the store, not in
// the workflow's history; the evaluation heartbeats its cursor, so a worker that dies resumes it.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { requestReevaluation } from '../clients/identity.js';
import type { Logger } from '../observability/logger.js';
import { diffPolicies } from '../policy/diff.js';
import type { Identity } from '../policy/identity.js';
import { loadPolicy } from '../policy/loader.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { liveGrantsOf } from '../store/grants.js';
import { storedSnapshots } from '../store/identities.js';
import {
  appliedPolicyFiles,
  carryOverUnsignalled,
  getAppliedPolicy,
  markRolloutSignalled,
  pendingRolloutTargets,
  recordRolloutTargets,
  setRolloutStatus,
  type RolloutStatus,
} from '../store/policy-applied.js';
import type { Store } from '../store/index.js';
import { policyGrants } from './plan.js';
import { rolloutRequest } from '../workflows/policy-rollout.js';

export const POLICY_ROLLOUT_ACTOR = { type: 'system' as const, id: 'policy-rollout' };

export type EvaluateRolloutInput = { seq: number; pageSize?: number };
export type EvaluateRolloutResult = { evaluated: number; changed: number; ms: number };
export type SignalRolloutBatchInput = { seq: number; version: string; rolloutId: string; taskQueue: string; limit: number; reason: string };
export type SignalRolloutBatchResult = { signalled: number; superseded: boolean };

export type PolicyRolloutDeps = { store: Store; client: Client; logger: Logger };

/** How many people's workflows are signalled at once within a batch. */
const PARALLEL = 25;

export function createPolicyRolloutActivities({ store, client, logger }: PolicyRolloutDeps) {
  async function policyOf(version: string): Promise<CompiledPolicy> {
    const files = await appliedPolicyFiles(store.pool, version);
    if (!files) throw ApplicationFailure.create({ type: 'UnknownPolicyVersion', message: `the store holds no applied policy ${version}`, nonRetryable: true });
    const loaded = loadPolicy(files);
    if (!loaded.ok) throw ApplicationFailure.create({ type: 'InvalidPolicy', message: `the applied policy ${version} does not validate (${loaded.problems.length} problems)`, nonRetryable: true });
    return loaded.policy;
  }

  return {
    /**
     * Evaluates every person with a stored snapshot under the previous and the new version and
     * records those whose desired access differs; resumes from its heartbeat after a worker died.
     */
    async evaluatePolicyRollout(input: EvaluateRolloutInput): Promise<EvaluateRolloutResult> {
      const started = Date.now();
      const row = await getAppliedPolicy(store.pool, undefined, { seq: input.seq });
      if (!row) throw ApplicationFailure.create({ type: 'UnknownPolicyVersion', message: `no applied policy with sequence ${input.seq}`, nonRetryable: true });
      if (!row.previousVersion) return { evaluated: 0, changed: 0, ms: 0 };
      const [from, to] = await Promise.all([policyOf(row.previousVersion), policyOf(row.version)]);
      const resumed = Context.current().info.heartbeatDetails as { after?: string; evaluated: number } | undefined;
      let after = resumed?.after;
      let evaluated = resumed?.evaluated ?? 0;
      const now = new Date().toISOString();
      const limit = input.pageSize ?? 1000;
      for (;;) {
        const page = await storedSnapshots(store.pool, store.keys.kek, { ...(after ? { after } : {}), limit });
        const grants = await liveGrantsOf(store.pool, page.items.map((i) => i.personId));
        const personOf = new Map(page.items.map((i) => [i.employeeId, i.personId]));
        const diff = diffPolicies(from, to, page.items.map((i) => i.snapshot as Identity), now, { grantsOf: (employeeId) => policyGrants(grants.get(personOf.get(employeeId)!) ?? []) });
        evaluated += page.items.length;
        const targets = diff.changes.map((c) => ({ personId: personOf.get(c.employeeId)!, gains: c.gains.length + c.rolesGained.length + c.accountsGained.length + c.attributes.length, loses: c.loses.length + c.rolesLost.length + c.accountsLost.length }));
        await store.change(
          (tx) => recordRolloutTargets(tx, { seq: input.seq, targets, evaluated }),
          (r) => (r.added > 0 ? { actor: POLICY_ROLLOUT_ACTOR, action: 'policy.rollout.evaluated', reason: `policy ${row.version}: ${r.added} more people change (${evaluated} evaluated)`, policyVersion: row.version } : null),
        );
        after = page.next;
        Context.current().heartbeat({ after, evaluated });
        if (!after) break;
      }
      await store.change(
        (tx) => carryOverUnsignalled(tx, input.seq),
        (r) => (r.added > 0 ? { actor: POLICY_ROLLOUT_ACTOR, action: 'policy.rollout.evaluated', reason: `policy ${row.version}: ${r.added} people a superseded rollout did not reach join it`, policyVersion: row.version } : null),
      );
      const { rows } = await store.pool.query<{ changed: number }>('select changed from policy_applied where seq = $1', [input.seq]);
      const changed = rows[0]?.changed ?? 0;
      await store.change(
        (tx) => setRolloutStatus(tx, { seq: input.seq, status: 'signalling' }),
        { actor: POLICY_ROLLOUT_ACTOR, action: 'policy.rollout.evaluated', reason: `policy ${row.version}: ${evaluated} people evaluated, ${changed} change`, policyVersion: row.version, changes: [{ op: 'policy.rollout', outcome: 'evaluated' }] },
      );
      const ms = Date.now() - started;
      logger.info({ version: row.version, evaluated, changed, ms }, 'policy rollout evaluated');
      return { evaluated, changed, ms };
    },

    /** Asks the next `limit` people of the rollout to plan again (each once); none when a newer version superseded it. */
    async signalPolicyRolloutBatch(input: SignalRolloutBatchInput): Promise<SignalRolloutBatchResult> {
      const { rows } = await store.pool.query<{ status: RolloutStatus }>('select status from policy_applied where seq = $1', [input.seq]);
      if (rows[0]?.status === 'superseded') return { signalled: 0, superseded: true };
      const batch = await pendingRolloutTargets(store.pool, input.seq, input.limit);
      const request = rolloutRequest(input.rolloutId, input.reason);
      for (let i = 0; i < batch.length; i += PARALLEL) {
        await Promise.all(batch.slice(i, i + PARALLEL).map((t) => requestReevaluation(client, input.taskQueue, t.employeeId, request)));
        Context.current().heartbeat(i);
      }
      if (batch.length > 0) {
        await store.change(
          (tx) => markRolloutSignalled(tx, { seq: input.seq, personIds: batch.map((t) => t.personId) }),
          (r) => (r.marked > 0 ? { actor: POLICY_ROLLOUT_ACTOR, action: 'policy.rollout.signalled', reason: `policy ${input.version}: ${r.marked} people asked to plan again (${request.source})`, policyVersion: input.version } : null),
        );
      }
      return { signalled: batch.length, superseded: false };
    },

    /** Records how the rollout ended. */
    async finishPolicyRollout(input: { seq: number; version: string; status: 'completed' | 'failed'; error?: string }): Promise<{ status: RolloutStatus }> {
      const { result } = await store.change(
        (tx) => setRolloutStatus(tx, { seq: input.seq, status: input.status, ...(input.error ? { error: input.error } : {}) }),
        (r) => ({ actor: POLICY_ROLLOUT_ACTOR, action: `policy.rollout.${r.status}`, reason: `policy ${input.version}: rollout ${r.status}`, policyVersion: input.version, changes: [{ op: 'policy.rollout', outcome: r.status }] }),
      );
      return result;
    },
  };
}

export type PolicyRolloutActivities = ReturnType<typeof createPolicyRolloutActivities>;
