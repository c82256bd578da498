// Quarantine as its clients see it: the probe workflow of a quarantined application (started once
// across workers, ended by an operator's release) and the wake-up of the identity workflows
// waiting for an application (found by their `QuarantinedApplications` search attribute) once it
// is released. Both belong to one deployment, its base task queue: another deployment (or a
// drill's pipeline) in the same namespace has its own store, its own quarantines and its own probes.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { applicationReleased, quarantineWorkflowId, type ApplicationQuarantineInput } from '../workflows/messages.js';

const APP_ID = /^[a-z][a-z0-9-]{0,31}$/;
const TASK_QUEUE = /^[A-Za-z0-9._-]{1,200}$/;

/** Starts the application's probe unless it runs already (one per application and deployment, whoever asks). */
export async function ensureProbe(client: Client, input: ApplicationQuarantineInput & { taskQueue: string }): Promise<void> {
  await client.workflow.start('applicationQuarantine', {
    workflowId: quarantineWorkflowId(input.taskQueue, input.app),
    taskQueue: input.taskQueue,
    args: [{ app: input.app, probeEveryMs: input.probeEveryMs }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

/**
 * Ends the application's probe, if it runs: after an operator's release, which may have lifted a
 * pause the probe sleeps through (up to 7 days), so that the next quarantine starts a probe that
 * reads on time. A probe a new quarantine found running meanwhile is started again by the release
 * (api/routes/quarantine.ts) and by the workflows that wait for the application
 * (quarantinedApplicationsOf). Returns whether one was running.
 */
export async function stopProbe(client: Client, app: string, taskQueue: string): Promise<boolean> {
  if (!APP_ID.test(app)) throw new RangeError(`"${app}" is not an application id`);
  return client.workflow
    .getHandle(quarantineWorkflowId(taskQueue, app))
    .terminate('released by an operator: the next quarantine starts its own probe')
    .then(() => true, (err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    });
}

/**
 * Signals every running workflow of the deployment on `taskQueue` that waits for `app` (visibility
 * is eventually consistent: a workflow that is not listed yet re-checks on its own timer). Returns
 * how many were signalled.
 */
export async function wakeWaiting(client: Client, app: string, taskQueue: string): Promise<number> {
  if (!APP_ID.test(app)) throw new RangeError(`"${app}" is not an application id`);
  if (!TASK_QUEUE.test(taskQueue)) throw new RangeError(`"${taskQueue}" is not a task queue name this query takes`);
  let woken = 0;
  for await (const wf of client.workflow.list({ query: `QuarantinedApplications = '${app}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    try {
      await client.workflow.getHandle(wf.workflowId, wf.runId).signal(applicationReleased, { app });
      woken += 1;
    } catch {
      // Ended since it was listed: nothing waits there any more.
    }
  }
  return woken;
}
