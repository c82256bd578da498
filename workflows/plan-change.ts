// Planning a change through the applications' own queues: the change's snapshot is stored and the
// applications to read are named (`preparePlan`), every application reads the person's account on
// its own rate-limited task queue, all at once (`readAccount`), and the plan is made on what they
// reported (`planChange`). A termination's reads take the urgent queues: its disable waits for
// them, so they must not wait behind a joiner surge either. Histories from before this read in
// process inside `planChange`.
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ActualAccount, PlanChangeInput, PlannedChange } from '../activities/lifecycle-types.js';
import { bookkeepingOptions } from './activity-options.js';
import { connectorActivities, DISABLE_PRIORITY, type Placement } from './connector-activities.js';

const { preparePlan, planChange } = proxyActivities<Activities>(bookkeepingOptions);

/** The plan of one change of the person (the identity workflow's `converge`). */
export async function planChangeThroughQueues(input: Omit<PlanChangeInput, 'actual'>): Promise<PlannedChange> {
  if (!patched('planning-reads')) return planChange(input);
  const { apps } = await preparePlan(input);
  // A leaver's reads come before its disable: the same queue, ahead of the rest.
  const placement: Placement = input.snapshot?.status === 'terminated' ? { urgency: 'urgent', priorityKey: DISABLE_PRIORITY } : { urgency: 'normal' };
  const prefix = `${workflowInfo().workflowId}/${input.changeId}/readAccount`;
  const found = await Promise.all(
    apps.map((app) => connectorActivities(app, placement, `${app}: readAccount`).readAccount({ app, employeeId: input.employeeId, idempotencyKey: `${prefix}/${app}` })),
  );
  const actual = found.filter((a): a is ActualAccount => a !== null);
  return planChange({ ...input, actual });
}
