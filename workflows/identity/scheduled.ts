// Steps for later in a person's workflow (a mover's grace period, a leaver's deletion delay): when
// the earliest is due, the due ones are applied through the fence and their outcome recorded.
import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import { failureMessage, type AppliedChange } from '../apply-plan.js';
import type { HrEventReceived, ScheduledStep } from '../messages.js';
import { applyFenced } from './fence.js';
import { finish } from './outcomes.js';
import { backoffMs } from './retry.js';
import { hrChange, knownAccounts, rememberAccounts, type Identity } from './state.js';

/** The failed steps, due again after their backoff. */
function rescheduled(failed: ScheduledStep[], now: number): ScheduledStep[] {
  return failed.map((s) => {
    const attempt = (s.attempt ?? 0) + 1;
    return { ...s, attempt, notBefore: new Date(now + backoffMs(attempt)).toISOString() };
  });
}

/** An operator's retry: the steps that failed are due now. */
export function retryFailedSteps(id: Identity): boolean {
  const failed = id.state.scheduled.filter((s) => (s.attempt ?? 0) > 0);
  const now = new Date().toISOString();
  for (const s of failed) s.notBefore = now;
  return failed.length > 0;
}

/**
 * A leaver's steps for later (a termination dated ahead: its disable and revokes) cut access: they
 * take the urgent queues like a termination's own (workflows/apply-plan.ts). Histories from before
 * ran them as an active person's.
 */
function leaving(id: Identity): boolean {
  return id.state.lastEventType === 'hr.worker.terminated' && patched('scheduled-leaver-urgent');
}

/** When the first scheduled step is due, if any. */
export function nextScheduled(id: Identity): number | undefined {
  const { scheduled } = id.state;
  return scheduled.length === 0 ? undefined : Math.min(...scheduled.map((s) => Date.parse(s.notBefore)));
}

/** Applies every scheduled step whose time has come, as one change of the timer. */
export async function runScheduled(id: Identity): Promise<void> {
  const { employeeId, state } = id;
  const now = Date.now();
  const due = state.scheduled.filter((s) => Date.parse(s.notBefore) <= now);
  state.scheduled = state.scheduled.filter((s) => !due.includes(s));
  const first = due[0]!;
  const event: HrEventReceived = { eventId: `${first.eventId}/scheduled/${first.notBefore}`, type: state.lastEventType ?? 'hr.worker.updated', source: 'provisioner:timer', time: new Date(now).toISOString(), snapshot: { employeeId, sequence: first.sequence, effectiveAt: first.notBefore, status: leaving(id) ? 'terminated' : 'active' } };
  let applied: AppliedChange;
  // While the fence holds them, a newer HR snapshot supersedes these steps (intake.ts): its plan decides.
  const scope = new CancellationScope();
  const supersedable = patched('scheduled-superseded-while-held');
  if (supersedable) id.applying = { sequence: first.sequence, scope, scheduled: true };
  let superseded = false;
  try {
    applied = await scope.run(() => applyFenced(id, { employeeId, changeId: event.eventId, policyVersion: 'scheduled', snapshot: event.snapshot, eventId: event.eventId }, event.source, due.map((s) => s.step)));
  } catch (err) {
    superseded = supersedable && isCancellation(err);
    applied = { steps: superseded ? [] : due.map((s) => ({ app: s.step.app, action: s.step.action, outcome: 'failed' as const, detail: failureMessage(err) })), compensations: [], failed: !superseded, accounts: knownAccounts(id) };
  } finally {
    if (supersedable) id.applying = undefined;
  }
  rememberAccounts(id, applied.accounts, applied.removed);
  // A failed batch is undone by its saga: its steps wait again, for a backoff (or `provisioner retry`).
  // (Histories from before dropped a failed batch.)
  const again = applied.failed && patched('scheduled-retry') ? rescheduled(due, now) : [];
  // Superseded while the fence held it: kept until the newer snapshot's plan replaces it (a held
  // or unplanned snapshot replaces nothing, and the steps must not be lost).
  state.scheduled = [...state.scheduled, ...again, ...(superseded ? due : [])];
  if (superseded) state.status = 'idle';
  else if (applied.failed) state.status = 'failed';
  else if (state.lastEventType === 'hr.worker.terminated') state.status = 'deprovisioned';
  await finish(id, hrChange(event), {
    status: superseded ? 'superseded' : applied.failed ? 'failed' : 'succeeded',
    policyVersion: 'scheduled',
    steps: applied.steps,
    reason: superseded
      ? `scheduled steps of change ${first.changeId}, held by the fence, superseded by a newer HR event: its plan decides`
      : again.length > 0
        ? `scheduled steps of change ${first.changeId}: failed, tried again at ${again[0]!.notBefore} or with \`provisioner retry ${employeeId}\``
        : `scheduled steps of change ${first.changeId}`,
    ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
  });
}
