// The grant sweep's Temporal Schedule (workflows/grant-sweep.ts), created or brought up to date by
// every worker at start: one schedule per namespace and task queue, `grant-sweep/<taskQueue>`, so
// a second pipeline on the same server sweeps its own store. A sweep still running when the next
// is due makes the next one skip (overlap SKIP).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Config } from '../schemas/config.js';
import { GRANT_SWEEP_WORKFLOW, type grantSweep } from '../workflows/grant-sweep.js';

export const grantSweepScheduleId = (taskQueue: string) => `grant-sweep/${taskQueue}`;

/** Creates the schedule, or updates its interval, settings and action to this worker's; returns its id. */
export async function ensureGrantSweepSchedule(client: Client, taskQueue: string, settings: Config['grantSweep']): Promise<string> {
  const scheduleId = grantSweepScheduleId(taskQueue);
  const spec = { intervals: [{ every: `${settings.everyMinutes}m` as const }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof grantSweep> = {
    type: 'startWorkflow',
    workflowType: GRANT_SWEEP_WORKFLOW,
    // The schedule appends the run's time: `grant-sweep/<taskQueue>-<time>`.
    workflowId: scheduleId,
    taskQueue,
    args: [{ graceMinutes: settings.graceMinutes, maxPerRun: settings.maxPerRun }],
    workflowExecutionTimeout: `${settings.everyMinutes * 4}m`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${settings.everyMinutes}m` as const };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update<typeof grantSweep>((previous) => ({ ...previous, spec, action, policies }));
  }
  return scheduleId;
}

/** Starts a sweep now (skipped if one is running); an error says how to create the schedule when there is none. */
export async function triggerGrantSweep(client: Client, taskQueue: string): Promise<string> {
  const scheduleId = grantSweepScheduleId(taskQueue);
  try {
    await client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    throw new Error(`no schedule ${scheduleId} in namespace ${client.options.namespace}: start a worker of task queue ${taskQueue} (\`provisioner worker\`), which creates it`, { cause: err });
  }
  return scheduleId;
}
