// The fence's permit for a change's fenced steps, counted and held in the store (store/fence.ts) with
// the limits of the policy in force. Asked by the identity workflow, and by any workflow that
// changes people in bulk (reconciliation as `reconcile/<app>`, a policy rollout as
// `policy/<version>`): a held ask's workflow waits for the `fenceDecision` signal.
import type { Logger } from '../observability/logger.js';
import { label, metrics } from '../observability/metrics.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { fenceLimit, fenceWindowMs, sourceBudget } from '../policy/fencing.js';
import { askFencePermit, fenceRequestDecision, withdrawFencePermit, type Store } from '../store/index.js';
import { scopeKey, type FenceDecision, type PermitAnswer, type PermitRequest } from '../workflows/fence-messages.js';

export type RequestFencePermitInput = {
  /** The fence (one per deployment): `fence/<taskQueue>` (fenceWorkflowId). */
  fenceWorkflowId: string;
  taskQueue: string;
  request: Omit<PermitRequest, 'limits' | 'windowMs' | 'releasesRequired'>;
};

export type WithdrawFencePermitInput = { fenceWorkflowId: string; requestId: string; employeeId: string };

export type ReadFenceDecisionInput = { fenceWorkflowId: string; requestId: string };

/** How often a held workflow reads its decision from the store by default (config `safety.fenceRecheckSeconds`). */
export const FENCE_RECHECK_MS = 5 * 60_000;

export type FenceActivityDeps = {
  policy: () => CompiledPolicy;
  store: Store;
  logger: Logger;
  /** An operator's population estimate (config `safety.populationEstimate`). */
  populationEstimate?: number;
  /** How often a held workflow reads its decision from the store (config `safety.fenceRecheckSeconds`). */
  recheckMs?: number;
};

export function createFenceActivities(deps: FenceActivityDeps) {
  /** The population the fence's shares multiply: the identities in the store. */
  async function countIdentities(): Promise<number> {
    const { rows } = await deps.store.pool.query<{ n: string }>('select count(*) as n from identities');
    return Number(rows[0]!.n);
  }

  return {
    /**
     * Asks the fence for a change's fenced steps, with the limits of the policy in force: one
     * transaction in the store, so a burst of thousands is counted and held without a failed ask.
     * Steps of plan-only applications are counted too: the application can be armed between this
     * permit and the step, and an arm must never let a mass change past the fence (a plan-only dry
     * run of a mass termination trips it as the real one would).
     */
    async requestFencePermit(input: RequestFencePermitInput): Promise<PermitAnswer> {
      const { steps, source } = input.request;
      if (steps.length === 0) return { permit: 'allowed' };
      const { fencing } = deps.policy().model;
      // The policy's population wins; then an operator's estimate (config); then the identities the store knows.
      const population = fencing.population ?? deps.populationEstimate ?? (await countIdentities());
      // An unknown source counts against the shared `default` budget, never a fresh one.
      const budget = sourceBudget(fencing, source);
      const limits: Record<string, number> = {};
      for (const s of steps) {
        const bySource = fenceLimit(fencing, { scope: 'source', source }, s.action, population);
        const byApp = fenceLimit(fencing, { scope: 'application', app: s.app }, s.action, population);
        if (Number.isFinite(bySource)) limits[scopeKey('source', budget, s.action)] = bySource;
        if (Number.isFinite(byApp)) limits[scopeKey('app', s.app, s.action)] = byApp;
      }
      const request: PermitRequest = { ...input.request, steps, limits, windowMs: fenceWindowMs(fencing), releasesRequired: fencing.releasesRequired };
      const answer = await askFencePermit(deps.store, { ...request, fenceId: input.fenceWorkflowId, budget });
      metrics.fencePermits.inc({ budget: label(budget), permit: answer.permit });
      if (answer.permit === 'allowed') return answer;
      deps.logger.warn({ employeeId: input.request.employeeId, batchId: answer.batchId, reasons: answer.reasons.slice(0, 3) }, 'fenced steps held by the fence');
      return { ...answer, recheckMs: deps.recheckMs ?? FENCE_RECHECK_MS };
    },

    /** A held ask's decision, read from the store (undefined while held): a held workflow asks on a timer, should the signal be lost. */
    async readFenceDecision(input: ReadFenceDecisionInput): Promise<FenceDecision | undefined> {
      return fenceRequestDecision(deps.store.pool, { fenceId: input.fenceWorkflowId, requestId: input.requestId });
    },

    /** A held ask whose change was superseded (a termination arrived): it leaves its batch. */
    async withdrawFencePermit(input: WithdrawFencePermitInput): Promise<void> {
      await withdrawFencePermit(deps.store, { fenceId: input.fenceWorkflowId, requestId: input.requestId, employeeId: input.employeeId });
    },
  };
}
