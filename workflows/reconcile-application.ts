// The reconciliation of one application (docs/architecture.md#reconcile-workflow), id
// `reconcile/<app>/...`, started by the application's Temporal Schedule or on demand
// (`provisioner reconcile <app> [--dry-run]`, the API). Its parts, each an activity:
//   list     the accounts page by page into PostgreSQL, on the application's own queue (its rate
//            limit holds), heartbeating; a lost worker's listing resumes after its last stored page.
//            The listing never enters this history: only counts do.
//   compare  every identity's desired state against the listing; drift stored and audited once;
//            the safety rules decide whether the run may remove anything (policy/reconcile-safety.ts).
//   remedy   `fix`: the person's identity workflow is asked to re-evaluate them (source
//            reconcile/<app>, so the fence counts it as a feed of its own); `disable-orphans`: the
//            orphans are disabled (never deleted) by this workflow once the fence allows.
//            Since patch `reconcile-paged` the worklist stays in the store and the remedy goes a
//            page at a time, continuing as new (workflows/reconcile/paged-remedy.ts); the unpaged
//            remedy below stays for the histories of runs that started before it.
// A dry run lists and compares alike, and records what a real run would do, changing nothing.
import { ActivityFailure, ApplicationFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CompareResult } from '../activities/reconcile.js';
import { bookkeepingOptions, fencePermitOptions } from './activity-options.js';
import { fenceDecision, fenceWorkflowId, type FenceDecision } from './fence-messages.js';
import { Application, ProvisioningStatus } from './search-attributes.js';
import { appTaskQueue } from './task-queues.js';
import { remedyPaged, type ReconcileCarry } from './reconcile/paged-remedy.js';

export const RECONCILE_WORKFLOW = 'reconcileApplication';

/** `reconcile/<app>/<taskQueue>/<suffix>`: the app first (the brief's id), the queue so two deployments never collide. */
export const reconcileWorkflowId = (app: string, taskQueue: string, suffix: string) => `reconcile/${app}/${taskQueue}/${suffix}`;

/** `continued`: a paged run that continued as new, with where its remediation stands. */
export type ReconcileInput = { app: string; dryRun?: boolean; continued?: ReconcileCarry };

export type ReconcileResult = {
  runId: string;
  app: string;
  dryRun: boolean;
  pages: number;
  accounts: number;
  listingComplete: boolean;
  counts: CompareResult['counts'];
  /** Why removals stopped (empty: they did not). */
  removalsBlocked: string[];
  remediation: { reevaluated: number; disabled: number; rejected: number; failed: number };
  /** Why the run did nothing (a quarantined application); absent when it ran. */
  skipped?: string;
};

const book = proxyActivities<Activities>(bookkeepingOptions);
const compare = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: bookkeepingOptions.retry! });
const { requestFencePermit } = proxyActivities<Activities>(fencePermitOptions);

/** The listing on the application's queue: a page stalls no longer than the heartbeat timeout before another worker resumes it. */
const listing = (app: string) =>
  proxyActivities<Activities>({
    taskQueue: appTaskQueue(workflowInfo().taskQueue, app),
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidRequestError', 'AuthError'] },
    summary: `${app}: list accounts`,
  });

const connectorCalls = (app: string) =>
  proxyActivities<Activities>({
    taskQueue: appTaskQueue(workflowInfo().taskQueue, app),
    startToCloseTimeout: '20 seconds',
    scheduleToCloseTimeout: '15 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidRequestError', 'AuthError'] },
    summary: `${app}: disableAccount (orphan)`,
  });

const PARALLEL = 10;

export async function reconcileApplication(input: ReconcileInput): Promise<ReconcileResult> {
  const { app } = input;
  const dryRun = input.dryRun === true;
  const { workflowId: runId, taskQueue } = workflowInfo();
  const decisions: Record<string, FenceDecision> = {};
  setHandler(fenceDecision, (d) => {
    decisions[d.batchId] = d;
  });
  const run = { app, dryRun, runId, taskQueue, decisions };
  if (input.continued) return finishPaged(run, input.continued);
  upsertSearchAttributes([
    { key: Application, value: [app] },
    { key: ProvisioningStatus, value: 'reconcile-listing' },
  ]);

  const settings = await book.startReconcileRun({ runId, app, dryRun });
  // A quarantined application is neither listed nor remedied (older histories have no `skipped`: same commands).
  if (settings.skipped) {
    upsertSearchAttributes([{ key: ProvisioningStatus, value: 'reconcile-skipped' }]);
    const { block, counts } = settings.skipped;
    return { runId, app, dryRun, pages: 0, accounts: 0, listingComplete: false, counts, removalsBlocked: [block.reason], remediation: { reevaluated: 0, disabled: 0, rejected: 0, failed: 0 }, skipped: block.reason };
  }

  // 1. The listing: complete, or failed for good (then nothing is removed on its strength).
  let pages = 0;
  let accounts = 0;
  let complete = false;
  try {
    const listed = await listing(app).listApplicationAccounts({ runId, app, pageSize: settings.pageSize });
    ({ pages, accounts } = listed);
    complete = true;
    await book.recordListingEnd({ runId, complete: true, ...(listed.reportedTotal !== undefined ? { reportedTotal: listed.reportedTotal } : {}) });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? `${err.cause.type ?? 'error'}: ${err.cause.message}` : (err.cause?.message ?? err.message);
    await book.recordListingEnd({ runId, complete: false, failure: cause });
  }

  // 2. Drift, and what the run may do about it.
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'reconcile-comparing' }]);
  // A paged run keeps its worklist in the store and its history in counts (workflows/reconcile/paged-remedy.ts).
  if (patched('reconcile-paged')) {
    const c = await compare.compareApplicationListing({ runId, app, dryRun, paged: true });
    const worklist = c.worklist ?? { reevaluate: 0, disable: 0 };
    return finishPaged(run, { phase: 'reevaluate', page: 0, pages, accounts, listingComplete: complete, counts: c.counts, blocks: c.blocks, toDisable: worklist.disable, remediation: { reevaluated: 0, disabled: 0, rejected: 0, failed: 0 } });
  }
  const compared = await compare.compareApplicationListing({ runId, app, dryRun });
  const reevaluate = compared.reevaluate ?? [];
  const disable = compared.disable ?? [];
  const remediation = { reevaluated: 0, disabled: 0, rejected: 0, failed: 0 };

  // 3a. fix: each person's own workflow converges them (ordering, saga, approvals, fence, audit).
  for (let i = 0; i < reevaluate.length; i += PARALLEL) {
    const batch = reevaluate.slice(i, i + PARALLEL);
    const asked = await Promise.all(batch.map((p) => book.askIdentityToReevaluate({ runId, app, employeeId: p.employeeId, kinds: p.kinds })));
    remediation.reevaluated += asked.filter((a) => a === 'asked').length;
  }

  // 3b. disable-orphans: through the fence, as the reconciliation's own source.
  if (disable.length > 0) {
    upsertSearchAttributes([{ key: ProvisioningStatus, value: 'reconcile-fence' }]);
    const answer = await requestFencePermit({
      fenceWorkflowId: fenceWorkflowId(taskQueue),
      taskQueue,
      request: {
        requestId: `${runId}/disable-orphans`,
        workflowId: runId,
        // Orphans belong to nobody the store knows: the request is the application's.
        employeeId: `reconcile/${app}`,
        source: `reconcile/${app}`,
        steps: disable.map((o) => ({ key: `disableAccount/${app}/${o.ref ?? o.key}`, app, action: 'disableAccount' as const })),
      },
    });
    let released = answer.permit === 'allowed';
    if (answer.permit === 'held') {
      const keys = disable.map((o) => o.key);
      await book.recordRemediation({ runId, keys, remediation: `held by the fence: batch ${answer.batchId} (${answer.reasons.join('; ')})` });
      upsertSearchAttributes([{ key: ProvisioningStatus, value: 'fence-held' }]);
      await condition(() => decisions[answer.batchId] !== undefined);
      const decision = decisions[answer.batchId]!;
      released = decision.decision === 'released';
      if (!released) {
        remediation.rejected = keys.length;
        await book.recordRemediation({ runId, keys, remediation: `rejected by the fence: batch ${decision.batchId} (by ${decision.operators.join(', ')})` });
      }
    }
    if (released) {
      for (let i = 0; i < disable.length; i += PARALLEL) {
        const batch = disable.slice(i, i + PARALLEL);
        const done = await Promise.all(
          batch.map(async (orphan) => {
            try {
              const outcome = await connectorCalls(app).disableOrphanAccount({ runId, orphan });
              await book.recordRemediation({ runId, keys: [orphan.key], remediation: outcome === 'planned' ? 'planned: the application is plan-only' : `disabled (${outcome})` });
              return outcome === 'applied' || outcome === 'already-in-state';
            } catch (err) {
              if (!(err instanceof ActivityFailure)) throw err;
              remediation.failed += 1;
              await book.recordRemediation({ runId, keys: [orphan.key], remediation: `disable failed: ${err.cause?.message ?? err.message}` });
              return false;
            }
          }),
        );
        remediation.disabled += done.filter(Boolean).length;
      }
    }
  }
  await book.finishReconcileRun({ runId, status: 'completed', counts: compared.counts, blocks: compared.blocks, remediation });
  upsertSearchAttributes([{ key: ProvisioningStatus, value: compared.blocks.length > 0 ? 'reconcile-removals-stopped' : 'reconcile-completed' }]);
  return {
    runId,
    app,
    dryRun,
    pages,
    accounts,
    listingComplete: complete,
    counts: compared.counts,
    removalsBlocked: compared.blocks.map((b) => b.reason),
    remediation,
  };
}

/** The paged remediation, then the run's end: the same record and result as an unpaged run. */
async function finishPaged(run: { app: string; dryRun: boolean; runId: string; taskQueue: string; decisions: Record<string, FenceDecision> }, carry: ReconcileCarry): Promise<ReconcileResult> {
  const { runId, app, dryRun } = run;
  const remediation = await remedyPaged(run, carry);
  await book.finishReconcileRun({ runId, status: 'completed', counts: carry.counts, blocks: carry.blocks, remediation });
  upsertSearchAttributes([{ key: ProvisioningStatus, value: carry.blocks.length > 0 ? 'reconcile-removals-stopped' : 'reconcile-completed' }]);
  return { runId, app, dryRun, pages: carry.pages, accounts: carry.accounts, listingComplete: carry.listingComplete, counts: carry.counts, removalsBlocked: carry.blocks.map((b) => b.reason), remediation };
}
