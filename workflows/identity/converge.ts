// One change converged: the person's plan is made from the newest state, its steps split into
// now, later (scheduled) and gated (approvals), and what runs now applied through the fence.
import { CancellationScope, isCancellation, patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { PlannedChange } from '../../activities/lifecycle-types.js';
import type { PendingRetry, QuarantinedDetails, WaitingForApplications } from '../messages.js';
import type { HrEventType } from '../../schemas/events.js';
import type { Outcome } from '../../schemas/outcomes.js';
import type { AppliedChange } from '../apply-plan.js';
import { Department, LifecycleEvent, ProvisioningStatus } from '../search-attributes.js';
import { planChangeThroughQueues, type ChangePlanning } from '../plan-change.js';
import { heldAccounts, keepWake } from './dated.js';
import { applyFenced } from './fence.js';
import { gateSteps } from './gates.js';
import { holdSnapshot } from './held.js';
import { deferredOf, failedReason, finish } from './outcomes.js';
import { byApplication, stopWaiting, waitFor, waitingReason } from './quarantine.js';
import { heldInstead, isSurvivable, planned, planningFailed } from './retry.js';
import { knownAccounts, rememberAccounts, takeReadAccounts, type Change, type Identity } from './state.js';

/** Why a change whose memberships could not be read in some applications needs a person. */
function unreadReason(unread: NonNullable<PlannedChange['unread']>): string {
  return `${unread.map((u) => u.reason).join('; ')}. Revokes there were not planned: remove by hand what the person should no longer hold`;
}

/** Why a change that HR data quality held needs a person (policy/data-quality.ts). */
function heldReason(held: NonNullable<PlannedChange['held']>): string {
  return held.map((h) => h.reason).join('; ');
}

/** How a change is converged: as the retry of a change that could not be planned, or with its sequence jump accepted by an operator. */
export type ConvergeOptions = { retrying?: PendingRetry; acceptSequenceJump?: boolean; /** The wait for quarantined applications this change is planned again after. */ resuming?: WaitingForApplications };

/** Plans the change and applies what is due now; a newer termination supersedes it while it is applied. */
export async function converge(id: Identity, change: Change, options: ConvergeOptions = {}): Promise<void> {
  const { employeeId, state } = id;
  const changeId = change.changeId;
  const before = state.status;
  state.status = 'provisioning';
  // The event's type and department are the person's once the change is planned (a held or
  // unplanned snapshot is not theirs); histories from before set them here.
  const hrAttributes = (snapshot: NonNullable<Change['snapshot']>) => [{ key: LifecycleEvent, value: change.eventType }, ...(snapshot.department ? [{ key: Department, value: snapshot.department }] : [])];
  const attributesWhenPlanned = patched('search-attributes-when-planned');
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'provisioning' }, ...(change.snapshot && !attributesWhenPlanned ? hrAttributes(change.snapshot) : [])]);
  // A failure to plan (an application refusing our credentials, two accounts claiming the person,
  // a policy that cannot load) leaves the person's workflow, timers and gates as they are.
  let planning: ChangePlanning;
  try {
    planning = await planChangeThroughQueues({
      employeeId,
      changeId,
      eventType: change.eventType,
      ...(change.snapshot ? { snapshot: change.snapshot, appliedSequence: state.lastAppliedSequence } : {}),
      ...(options.acceptSequenceJump ? { acceptSequenceJump: true } : {}),
    });
  } catch (err) {
    if (!isSurvivable(err)) throw err;
    return planningFailed(id, change, err, options.retrying, options.acceptSequenceJump);
  }
  if ('held' in planning) {
    state.status = before;
    heldInstead(id, change);
    return holdSnapshot(id, change, planning.held);
  }
  const { plan, read } = planning;
  // A new plan covers the change that waited for quarantined applications (it waits again below if it must).
  stopWaiting(id);
  // Only a change that was planned is the person's last event (a held or unplanned one is not).
  if (change.snapshot) {
    state.lastEventType = change.eventType as HrEventType;
    if (attributesWhenPlanned) upsertSearchAttributes(hrAttributes(change.snapshot));
  }
  planned(id, change);
  if (read) takeReadAccounts(id, read);
  try {
    await applyPlanned(id, change, plan, { quarantined: planning.quarantined ?? [], ...(options.resuming ? { resuming: options.resuming } : {}) });
  } catch (err) {
    // A failure after planning (opening approval gates, asking the fence, recording the outcome)
    // loses nothing either: the change waits for its retry and is planned again.
    if (isCancellation(err) || !isSurvivable(err)) throw err;
    return planningFailed(id, change, err, options.retrying, options.acceptSequenceJump);
  }
}

/** Splits the plan into now, later and gated, and applies what runs now through the fence. */
async function applyPlanned(id: Identity, change: Change, plan: PlannedChange, quarantine: { quarantined: QuarantinedDetails[]; resuming?: WaitingForApplications }): Promise<void> {
  const { employeeId, state } = id;
  const changeId = change.changeId;
  // Plans from builds before access requests carry no snapshot: then it is the event's.
  const snapshot = plan.snapshot ?? change.snapshot!;
  id.lastSnapshot = snapshot;
  // The new plan replaces what was scheduled or waiting: it was computed from the newest state.
  const now = Date.now();
  // Accounts only approval-gated grants need wait with their gates (least privilege on hire), their enable at the start too.
  const { held: waitingAccounts, steps } = heldAccounts(plan.steps);
  const later = steps.filter((s) => s.notBefore !== undefined && Date.parse(s.notBefore) > now);
  const gated = steps.filter((s) => !later.includes(s) && (s.approvals?.length ?? 0) > 0);
  const immediate = steps.filter((s) => !later.includes(s) && !gated.includes(s));
  keepWake(id, change, plan);
  state.scheduled = later.map((step) => ({ changeId, eventId: change.eventId, sequence: change.sequence, step, notBefore: step.notBefore! }));
  // Sensitive steps wait for approvals, each gate addressed by approval ids (builds before the gates only listed them).
  const approvalIds = (gated.length > 0 || id.gates.length > 0) && patched('approval-gates') ? await gateSteps(id, change, plan.policyVersion, gated, waitingAccounts) : {};
  state.awaitingApproval = gated.map((step) => ({ changeId, step, approvals: step.approvals!, ...(approvalIds[step.key] ? { approvalIds: approvalIds[step.key] } : {}) }));

  // A termination (a newer sequence) supersedes this change while it is applied, whatever brought it.
  const scope = new CancellationScope();
  id.applying = { sequence: change.sequence, scope };
  id.fenceAsks = [];
  let applied: AppliedChange;
  let superseded = false;
  try {
    applied = await scope.run(() => applyFenced(id, { employeeId, changeId, policyVersion: plan.policyVersion, snapshot, eventId: change.eventId }, change.source, immediate, quarantine.resuming));
  } catch (err) {
    if (!isCancellation(err)) throw err;
    superseded = true;
    applied = { steps: [], compensations: [], failed: false, accounts: knownAccounts(id) };
  } finally {
    id.applying = undefined;
  }
  rememberAccounts(id, applied.accounts, applied.removed);
  // Only an HR snapshot advances the applied sequence; a grant, an expiry or an approval keeps it.
  if (change.snapshot) state.lastAppliedSequence = change.sequence;
  const rejected = applied.steps.some((s) => s.outcome === 'rejected');
  // Applications that could not say what the person holds: their revokes were never planned, so
  // the change is not converged there, whatever its steps did. (Plans from before carry no `unread`.)
  const unread = plan.unread ?? [];
  // What HR data quality held was not planned: two people claiming one e-mail, a missing `hold` attribute.
  const held = plan.held ?? [];
  // A rejected batch changes nothing: neither now nor later (the change's scheduled destructive steps go too).
  if (rejected) state.scheduled = state.scheduled.filter((s) => s.changeId !== changeId || !s.step.fenced);
  const status: Outcome['status'] = superseded
    ? 'superseded'
    : applied.failed
      ? 'failed'
      : rejected || unread.length > 0 || held.length > 0 || applied.steps.some((s) => s.outcome === 'action-required')
        ? 'action-required'
        : 'succeeded';
  // A termination dated ahead deprovisions when its scheduled disable runs, not now.
  const deprovisioned = snapshot.status === 'terminated' && !later.some((s) => s.action === 'disableAccount');
  state.status = status === 'succeeded' ? (deprovisioned ? 'deprovisioned' : 'provisioned') : status === 'superseded' ? 'idle' : status;
  // A rejected person says so until a newer snapshot or an operator's retry (runs from before said action-required).
  if (rejected && status === 'action-required' && patched('fence-rejected-status')) {
    state.status = 'fence-rejected';
    id.fenceRejected = { eventId: change.eventId, source: change.source };
  }
  // Quarantined applications, found by the plan's reads or by the steps: the change waits for them.
  const waiting = superseded ? [] : byApplication([...quarantine.quarantined, ...(applied.quarantined ?? [])]);
  if (waiting.length > 0) waitFor(id, change, waiting, quarantine.resuming);
  await finish(id, change, {
    status,
    policyVersion: plan.policyVersion,
    steps: applied.steps,
    ...(superseded
      ? { reason: 'a termination arrived while this change was being applied' }
      : rejected
        ? { reason: 'an operator rejected the fence batch that held its destructive steps: they were not applied' }
        : applied.failed
          ? { reason: failedReason(applied) }
          : unread.length > 0 || held.length > 0 || waiting.length > 0
            ? { reason: [...(held.length > 0 ? [heldReason(held)] : []), ...(unread.length > 0 ? [unreadReason(unread)] : []), ...(waiting.length > 0 ? [waitingReason(waiting)] : [])].join('; ') }
            : {}),
    ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
    ...deferredOf([...later.filter((s) => !rejected || !s.fenced), ...gated, ...waitingAccounts.flatMap((h) => [h.account, ...(h.enable ? [h.enable] : [])])]),
  });
}
