// The reconciliations' Temporal Schedules (workflows/reconcile-application.ts), one per
// application that a connector serves and can list, created or brought up to date by every worker
// at start: `reconcile/<taskQueue>/<app>`, every `reconcile.every` of the policy (default hourly).
// An application whose policy says `scheduled: false`, or that left the policy, loses its
// schedule. A run still going when the next is due makes the next one skip (overlap SKIP).
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Connector } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { durationMs } from '../schemas/durations.js';
import { reconcileSettings } from '../schemas/reconcile.js';
import { RECONCILE_WORKFLOW, reconcileWorkflowId, type reconcileApplication } from '../workflows/reconcile-application.js';

export const reconcileScheduleId = (taskQueue: string, app: string) => `reconcile/${taskQueue}/${app}`;

/** Creates or updates each application's schedule, removes those no longer wanted; returns the ids kept. */
export async function ensureReconcileSchedules(client: Client, taskQueue: string, policy: CompiledPolicy, connectors: ReadonlyMap<string, Connector>): Promise<string[]> {
  const wanted = new Map<string, number>();
  for (const [app, decl] of policy.applications) {
    const connector = connectors.get(app);
    const settings = reconcileSettings(policy.model.reconcile, decl.reconcile);
    if (connector && can(connector, 'list-accounts') && settings.scheduled) wanted.set(app, durationMs(settings.every));
  }
  for (const [app, everyMs] of wanted) {
    const scheduleId = reconcileScheduleId(taskQueue, app);
    const seconds = Math.round(everyMs / 1000);
    const spec = { intervals: [{ every: `${seconds}s` as const }] };
    const action: ScheduleOptionsStartWorkflowAction<typeof reconcileApplication> = {
      type: 'startWorkflow',
      workflowType: RECONCILE_WORKFLOW,
      // The schedule appends the run's time: `reconcile/<app>/<taskQueue>/scheduled-<time>`.
      workflowId: reconcileWorkflowId(app, taskQueue, 'scheduled'),
      taskQueue,
      args: [{ app }],
    };
    const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${seconds}s` as const };
    try {
      await client.schedule.create({ scheduleId, spec, action, policies });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(scheduleId).update<typeof reconcileApplication>((previous) => ({ ...previous, spec, action, policies }));
    }
  }
  const prefix = reconcileScheduleId(taskQueue, '');
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(prefix) || wanted.has(s.scheduleId.slice(prefix.length))) continue;
    await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
  }
  return [...wanted.keys()].map((app) => reconcileScheduleId(taskQueue, app));
}

/** Deletes the deployment's reconciliation schedules (tests, a retired deployment). */
export async function deleteReconcileSchedules(client: Client, taskQueue: string): Promise<void> {
  const prefix = reconcileScheduleId(taskQueue, '');
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(prefix)) await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
  }
}
