// The connector activities as a workflow calls them: on the application's own task queue (or its
// urgent twin, leavers first), with the one retry policy of connector calls, and a summary the
// Temporal UI shows beside the activity's name (`chat: grant all-staff`): the application, the
// action and the entitlement id, never a name or an e-mail (it is stored in the history).
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PlanStep } from '../activities/lifecycle-types.js';
import { connectorCallOptions } from './activity-options.js';
import { appTaskQueue, urgentAppTaskQueue } from './task-queues.js';

/** The activity types of the steps' connector calls, one per verb (older histories have `applyStep`). */
export const STEP_ACTIVITY_TYPES = ['ensureAccount', 'enableAccount', 'updateAccount', 'disableAccount', 'deleteAccount', 'grant', 'revoke'] as const satisfies readonly PlanStep['action'][];

/** Priority keys (1 runs first; unset is the server's default, 3). */
export const DISABLE_PRIORITY = 1;
export const URGENT_PRIORITY = 2;

/** Where a connector activity runs: the app's queue, or its urgent queue with a priority key. */
export type Placement = { urgency: 'normal' } | { urgency: 'urgent'; priorityKey: number };

/** What the UI shows for a step's activity: `chat: grant all-staff`, `ldap: disableAccount`, `chat: updateAccount emails, title` (names, never values). */
export function stepSummary(step: Pick<PlanStep, 'app' | 'action' | 'entitlementId' | 'attributes'>, note?: string): string {
  const what = step.entitlementId ?? (step.action === 'updateAccount' && step.attributes ? Object.keys(step.attributes).sort().join(', ') : undefined);
  return `${step.app}: ${step.action}${what ? ` ${what}` : ''}${note ? ` (${note})` : ''}`;
}

/** The connector activities of `app`, placed and summarised (summary: none for the calls of older histories). */
export function connectorActivities(app: string, placement: Placement, summary?: string, options: ActivityOptions = connectorCallOptions) {
  const base = workflowInfo().taskQueue;
  return proxyActivities<Activities>({
    ...options,
    ...(placement.urgency === 'urgent' ? { taskQueue: urgentAppTaskQueue(base, app), priority: { priorityKey: placement.priorityKey } } : { taskQueue: appTaskQueue(base, app) }),
    ...(summary ? { summary } : {}),
  });
}
