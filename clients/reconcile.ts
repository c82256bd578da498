// The reconciliation as its clients see it: an on-demand run of one application's reconciliation
// (workflows/reconcile-application.ts), started on the deployment's task queue.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { inTransaction } from '../store/db.js';
import { createRun, unfinishedRuns } from '../store/reconcile.js';
import { RECONCILE_WORKFLOW, reconcileWorkflowId, type ReconcileInput, type reconcileApplication } from '../workflows/reconcile-application.js';

/** Starts a run now; returns its workflow id (the run id the store and `provisioner drift --run` know). */
export async function startReconcile(client: Client, taskQueue: string, input: ReconcileInput & { requestedAt?: Date }): Promise<string> {
  const at = (input.requestedAt ?? new Date()).toISOString();
  const workflowId = reconcileWorkflowId(input.app, taskQueue, `${input.dryRun ? 'dry-run' : 'run'}-${at}`);
  await client.workflow.start<typeof reconcileApplication>(RECONCILE_WORKFLOW, {
    workflowId,
    taskQueue,
    args: [{ app: input.app, ...(input.dryRun ? { dryRun: true } : {}) }],
  });
  return workflowId;
}

/**
 * Starts a run now unless one of the application is going on (scheduled or asked for): then
 * nothing starts and its run id is returned. One start per application at a time (an advisory
 * lock in the store); the run's row is written with the start, so the next ask sees it at once.
 */
export async function startReconcileOnce(client: Client, pool: pg.Pool, taskQueue: string, input: ReconcileInput): Promise<{ started: boolean; runId: string }> {
  return inTransaction(pool, async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`reconcile_start/${input.app}`]);
    for (const runId of await unfinishedRuns(tx, input.app)) {
      // A run Temporal no longer knows is not going on; any other failure to look is not an answer (Temporal down: no second run).
      const status = await client.workflow.getHandle(runId).describe().then(
        (d) => d.status.name,
        (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        },
      );
      if (status === 'RUNNING') return { started: false, runId };
    }
    const runId = await startReconcile(client, taskQueue, input);
    await createRun(tx, { runId, app: input.app, dryRun: input.dryRun === true, policyVersion: null });
    return { started: true, runId };
  });
}
