// The rollout of an applied version that nobody started: `policy apply` records the version, then
// starts its rollout; when that start fails (Temporal down, the API stopped in between), the store
// keeps the version `pending` and nothing else would ever start it. Every worker that follows the
// store starts it, at its start and on its policy poll (runtime/policy-source.ts). A start while the
// rollout runs is a no-op (clients/policy-rollout.ts): workers racing each other and the API start
// it once; a worker asks once per rollout, so one that ended without recording progress (failed,
// terminated) is not started again on every poll.
import type { Client } from '@temporalio/client';
import { appliedRolloutInput, startPolicyRollout } from '../clients/policy-rollout.js';
import type { Logger } from '../observability/logger.js';
import type { NewestApplied } from '../store/policy-applied.js';

export type PendingRolloutDeps = {
  client: Client;
  taskQueue: string;
  /** Config `policy`: the pace the API starts rollouts with. */
  pace: { rolloutPerSecond: number; rolloutBatchSize: number };
  logger: Logger;
};

/**
 * Starts the rollout of `newest` when it is still pending (its workflow moves it to `evaluating` with
 * its first page). Once started or found running, this worker does not ask again; a start that fails
 * is tried again at the next poll.
 */
export function pendingRolloutStarter(deps: PendingRolloutDeps): (newest: NewestApplied | undefined) => Promise<void> {
  const settled = new Set<string>();
  return async (newest) => {
    if (!newest || newest.status !== 'pending' || settled.has(newest.rolloutId)) return;
    try {
      const { workflowId, started } = await startPolicyRollout(deps.client, deps.taskQueue, appliedRolloutInput(newest, deps.pace));
      settled.add(newest.rolloutId);
      if (started) deps.logger.info({ policyVersion: newest.version, workflowId }, 'policy version applied without its rollout: rollout started');
    } catch (err) {
      deps.logger.warn({ policyVersion: newest.version, err: (err as Error).message }, 'could not start the rollout of a pending policy version; trying again at the next poll');
    }
  };
}
