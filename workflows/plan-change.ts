// Planning a change through the applications' own queues: the change's snapshot is stored and the
// applications to read are named (`preparePlan`), every application reads the person's account on
// its own rate-limited task queue, all at once (`readAccount`), and the plan is made on what they
// reported (`planChange`). A termination's reads take the urgent queues: its disable waits for
// them, so they must not wait behind a joiner surge either. An access request's assessment reads
// the same way. Histories from before this read in process inside `planChange` and
// `assessAccessRequest`.
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ActualAccount, PlanChangeInput, PlannedChange } from '../activities/lifecycle-types.js';
import type { RequestAssessment } from '../activities/approvals.js';
import type { AccessRequestInput } from './approval-messages.js';
import { bookkeepingOptions, planningReadOptions } from './activity-options.js';
import { connectorActivities, DISABLE_PRIORITY, type Placement } from './connector-activities.js';
import { byApplication, quarantinedBy } from './identity/quarantine.js';
import type { QuarantinedDetails } from './messages.js';

const { preparePlan, planChange, listApplicationsToRead, assessAccessRequest } = proxyActivities<Activities>(bookkeepingOptions);

/**
 * What each application reports the person has, read on every application's own queue at once.
 * `quarantined` collects the applications that are quarantined (not read) when the caller can wait for them; else their failure is thrown.
 */
async function readAccounts(input: { employeeId: string; apps: string[]; keyPrefix: string; placement: Placement; quarantined?: QuarantinedDetails[] }): Promise<ActualAccount[]> {
  const found = await Promise.all(
    input.apps.map(async (app) => {
      try {
        return await connectorActivities(app, input.placement, `${app}: readAccount`, planningReadOptions).readAccount({ app, employeeId: input.employeeId, idempotencyKey: `${input.keyPrefix}/${app}` });
      } catch (err) {
        const quarantine = input.quarantined ? quarantinedBy(err) : undefined;
        if (!quarantine) throw err;
        input.quarantined!.push(quarantine);
        return null;
      }
    }),
  );
  return found.filter((a): a is ActualAccount => a !== null);
}

/**
 * A change's plan with what the applications reported (`read`: absent for histories that read in
 * process), or why its snapshot is held. `quarantined`: applications that were not read (their
 * steps are not in the plan: the change waits for them).
 */
export type ChangePlanning = { plan: PlannedChange; read?: { apps: string[]; found: ActualAccount[] }; quarantined?: QuarantinedDetails[] } | { held: string };

/** The plan of one change of the person (the identity workflow's `converge`). */
export async function planChangeThroughQueues(input: Omit<PlanChangeInput, 'actual'>): Promise<ChangePlanning> {
  if (!patched('planning-reads')) return { plan: await planChange(input) };
  const { apps, hold } = await preparePlan(input);
  if (hold !== undefined) return { held: hold };
  // A leaver's reads come before its disable: the same queue, ahead of the rest.
  const placement: Placement = input.snapshot?.status === 'terminated' ? { urgency: 'urgent', priorityKey: DISABLE_PRIORITY } : { urgency: 'normal' };
  const quarantined: QuarantinedDetails[] = [];
  const actual = await readAccounts({ employeeId: input.employeeId, apps, placement, keyPrefix: `${workflowInfo().workflowId}/${input.changeId}/readAccount`, quarantined });
  const { appliedSequence: _applied, acceptSequenceJump: _accepted, ...planInput } = input;
  const plan = await planChange({ ...planInput, actual });
  if (quarantined.length === 0) return { plan, read: { apps, found: actual } };
  // What a quarantined application holds is unknown: none of its steps are planned now, and its remembered account stays.
  const waiting = byApplication(quarantined);
  const skipped = new Set(waiting.map((q) => q.app));
  return { plan: { ...plan, steps: plan.steps.filter((s) => !skipped.has(s.app)) }, read: { apps: apps.filter((a) => !skipped.has(a)), found: actual }, quarantined: waiting };
}

/**
 * The assessment of an access request (the request workflow's), on what the beneficiary holds as
 * each application reports it through its own queue. Histories from before read in process.
 */
export async function assessThroughQueues(input: AccessRequestInput): Promise<RequestAssessment> {
  if (!patched('assessment-reads')) return assessAccessRequest(input);
  const { apps } = await listApplicationsToRead();
  const actual = await readAccounts({ employeeId: input.beneficiaryId, apps, placement: { urgency: 'normal' }, keyPrefix: `${workflowInfo().workflowId}/assess/readAccount` });
  return assessAccessRequest({ ...input, actual });
}
