// The fence's permit for a change's destructive steps, asked of the fence workflow with the
// limits of the policy in force.
import { Context } from '@temporalio/activity';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { fenceBudget, fenceLimit, fenceWindowMs } from '../policy/fencing.js';
import type { Store } from '../store/index.js';
import { askFencePermit } from '../clients/fence.js';
import { scopeKey, type PermitAnswer, type PermitRequest } from '../workflows/fence-messages.js';

export type RequestFencePermitInput = {
  fenceWorkflowId: string;
  taskQueue: string;
  request: Omit<PermitRequest, 'limits' | 'windowMs' | 'releasesRequired'>;
};

export type FenceActivityDeps = {
  policy: () => CompiledPolicy;
  store: Store;
  logger: Logger;
  /** An operator's population estimate (config `safety.populationEstimate`). */
  populationEstimate?: number;
};

export function createFenceActivities(deps: FenceActivityDeps) {
  /** The population the fence's shares multiply: the identities in the store. */
  async function countIdentities(): Promise<number> {
    const { rows } = await deps.store.pool.query<{ n: string }>('select count(*) as n from identities');
    return Number(rows[0]!.n);
  }

  return {
    /**
     * Asks the fence for a change's destructive steps (update-with-start on the fence workflow),
     * with the limits of the policy in force. Steps of plan-only applications are counted too: the
     * application can be armed between this permit and the step, and an arm must never let a mass
     * change past the fence (a plan-only dry run of a mass termination trips it as the real one would).
     */
    async requestFencePermit(input: RequestFencePermitInput): Promise<PermitAnswer> {
      const { steps } = input.request;
      if (steps.length === 0) return { permit: 'allowed' };
      const { fencing } = deps.policy().model;
      // The policy's population wins; then an operator's estimate (config); then the identities the store knows.
      const population = fencing.population ?? deps.populationEstimate ?? (await countIdentities());
      const limits: Record<string, number> = {};
      const budget = fenceBudget(fencing, input.request.source);
      for (const s of steps) {
        const bySource = fenceLimit(fencing, { scope: 'source', source: budget }, s.action, population);
        const byApp = fenceLimit(fencing, { scope: 'application', app: s.app }, s.action, population);
        if (Number.isFinite(bySource)) limits[scopeKey('source', budget, s.action)] = bySource;
        if (Number.isFinite(byApp)) limits[scopeKey('app', s.app, s.action)] = byApp;
      }
      const request: PermitRequest = { ...input.request, ...(budget !== input.request.source ? { budget } : {}), steps, limits, windowMs: fenceWindowMs(fencing), releasesRequired: fencing.releasesRequired };
      const answer = await askFencePermit(Context.current().client, { fenceWorkflowId: input.fenceWorkflowId, taskQueue: input.taskQueue, request });
      if (answer.permit === 'held') deps.logger.warn({ employeeId: input.request.employeeId, batchId: answer.batchId, reasons: answer.reasons }, 'destructive steps held by the fence');
      return answer;
    },
  };
}
