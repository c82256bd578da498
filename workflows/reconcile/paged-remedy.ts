// A reconciliation's remediation a page at a time (patch `reconcile-paged`,
// workflows/reconcile-application.ts): the worklist stays in the store (drift_findings.pending),
// and this history holds one activity per page and counts, however much drift the run found.
//   fix              one activity per page of people: each asked to re-evaluate once, then taken
//                    off the worklist (a retried page asks nobody twice);
//   disable-orphans  per page: the fence is asked about the page's orphans (put together in the
//                    store), then one heartbeating activity on the application's queue disables
//                    them one after the other (its rate limit holds; a retried page goes on with
//                    the orphans left).
// After MAX_PAGES_PER_RUN pages, or when Temporal suggests it, the run continues as new with its
// phase, page and counts (ReconcileCarry).
import { ActivityFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { CompareResult } from '../../activities/reconcile.js';
import type { RemovalBlock } from '../../policy/reconcile-safety.js';
import { bookkeepingOptions, fencePermitOptions } from '../activity-options.js';
import { fenceWorkflowId, type FenceDecision } from '../fence-messages.js';
import { ProvisioningStatus } from '../search-attributes.js';
import { appTaskQueue } from '../task-queues.js';

/** People asked, or orphans disabled, per activity. */
export const REMEDY_PAGE = 200;
/** Pages per run before it continues as new (its history stays in the hundreds of events). */
export const MAX_PAGES_PER_RUN = 25;

export type Remediation = { reevaluated: number; disabled: number; rejected: number; failed: number };

/** What a paged run carries into its next run: what it found, where its remediation stands, and what it did so far. */
export type ReconcileCarry = {
  phase: 'reevaluate' | 'disable';
  /** The next page of orphan disables (phase `disable`). */
  page: number;
  pages: number;
  accounts: number;
  listingComplete: boolean;
  counts: CompareResult['counts'];
  blocks: RemovalBlock[];
  toDisable: number;
  remediation: Remediation;
};

const { readFenceDecision } = proxyActivities<Activities>(bookkeepingOptions);
/** A held page reads its decision from the store after this (then twice as long each time, up to hourly), should the signal be lost. */
const RECHECK_MS = 5 * 60_000;
const RECHECK_MAX_MS = 60 * 60_000;

/** The fence request of one page of orphans (activities/reconcile.ts asks with it). */
export const orphanPageRequestId = (runId: string, page: number) => `${runId}/disable-orphans/${page}`;

const { askIdentitiesToReevaluate, recordOrphanPageRemediation } = proxyActivities<Activities>({
  ...bookkeepingOptions,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
});
const { requestOrphanPagePermit } = proxyActivities<Activities>(fencePermitOptions);

/** A page of disables on the application's queue: each call of it at most 20 s, the page resumed from the store after a lost worker. */
const orphanPages = (app: string) =>
  proxyActivities<Activities>({
    taskQueue: appTaskQueue(workflowInfo().taskQueue, app),
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: '6 hours',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    summary: `${app}: disable a page of orphan accounts`,
  });

type Run = { app: string; dryRun: boolean; runId: string; taskQueue: string; decisions: Record<string, FenceDecision> };

/** Works through the run's worklist; returns the remediation's counts, or continues as new. */
export async function remedyPaged(run: Run, carry: ReconcileCarry): Promise<Remediation> {
  const { app, runId, taskQueue } = run;
  const remediation = { ...carry.remediation };
  let { phase, page } = carry;
  let pagesThisRun = 0;
  const continueIfDue = async () => {
    if (pagesThisRun < MAX_PAGES_PER_RUN && !workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    await continueAsNew<(input: { app: string; dryRun?: boolean; continued?: ReconcileCarry }) => Promise<unknown>>({ app, dryRun: run.dryRun, continued: { ...carry, phase, page, remediation } });
  };

  if (phase === 'reevaluate') {
    for (;;) {
      await continueIfDue();
      const asked = await askIdentitiesToReevaluate({ runId, app, limit: REMEDY_PAGE });
      remediation.reevaluated += asked.asked;
      pagesThisRun += 1;
      if (!asked.more) break;
    }
    phase = 'disable';
    page = 0;
  }

  if (carry.toDisable === 0) return remediation;
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'reconcile-fence' }]);
  for (;;) {
    await continueIfDue();
    const { orphans, answer } = await requestOrphanPagePermit({ runId, app, page, limit: REMEDY_PAGE, fenceWorkflowId: fenceWorkflowId(taskQueue), taskQueue });
    if (orphans === 0) break;
    let released = answer.permit === 'allowed';
    if (answer.permit === 'held') {
      await recordOrphanPageRemediation({ runId, page, remediation: `held by the fence: batch ${answer.batchId} (${answer.reasons.join('; ')})`, settled: false });
      upsertSearchAttributes([{ key: ProvisioningStatus, value: 'fence-held' }]);
      // This page's decision only (a decision for an earlier page in the same open batch is not this one's),
      // signalled or, should the signal be lost, read from the store.
      const requestId = orphanPageRequestId(runId, page);
      const decided = () => {
        const d = run.decisions[answer.batchId];
        return d !== undefined && (d.requestId === undefined || d.requestId === requestId);
      };
      let every = answer.recheckMs ?? RECHECK_MS;
      while (!(await condition(decided, every))) {
        const found = await readFenceDecision({ fenceWorkflowId: fenceWorkflowId(taskQueue), requestId });
        if (found) run.decisions[answer.batchId] = found;
        every = Math.min(2 * every, Math.max(answer.recheckMs ?? RECHECK_MS, RECHECK_MAX_MS));
      }
      const decision = run.decisions[answer.batchId]!;
      delete run.decisions[answer.batchId];
      released = decision.decision === 'released';
      if (!released) remediation.rejected += await recordOrphanPageRemediation({ runId, page, remediation: `rejected by the fence: batch ${decision.batchId} (by ${decision.operators.join(', ')})`, settled: true });
      upsertSearchAttributes([{ key: ProvisioningStatus, value: 'reconcile-fence' }]);
    }
    if (released) {
      try {
        const done = await orphanPages(app).disableOrphanPage({ runId, app, page, limit: REMEDY_PAGE });
        remediation.disabled += done.disabled;
        remediation.failed += done.failed;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        remediation.failed += await recordOrphanPageRemediation({ runId, page, remediation: `disable failed: ${err.cause?.message ?? err.message}`, settled: true });
      }
    }
    page += 1;
    pagesThisRun += 1;
  }
  return remediation;
}
