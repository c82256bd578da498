// The reconciliation as its clients see it: an on-demand run of one application's reconciliation
// (workflows/reconcile-application.ts), started on the deployment's task queue.
import type { Client } from '@temporalio/client';
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
