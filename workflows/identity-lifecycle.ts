// One workflow per person (`identity/<employeeId>`), fed HR snapshots by signalWithStart.
// Ordering is by state: the snapshot with the highest sequence wins and the person is converged
// to its desired state; older and duplicate snapshots are recorded and ignored; a termination
// supersedes the person's pending work. Steps for later (mover grace period, leaver deletion
// delay) wait on durable timers in this workflow. Long-lived through continue-as-new.
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Plan, PlanStep } from '../activities/lifecycle-types.js';
import type { AccountRef } from '../connectors/contract.js';
import type { Outcome } from '../schemas/outcomes.js';
import { applyPlan, failureMessage, type AppliedChange } from './apply-plan.js';
import {
  getState,
  hrEventReceived,
  type HrEventReceived,
  type IdentityLifecycleInput,
  type IdentityState,
  type ScheduledStep,
} from './messages.js';
import { Application, Department, LifecycleEvent, ProvisioningStatus } from './search-attributes.js';

const { planChange, recordChange, publishOutcome } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

const RECENT_EVENT_IDS = 200;
const MAX_HISTORY_EVENTS = 5_000;

export async function identityLifecycle(input: IdentityLifecycleInput): Promise<void> {
  const { employeeId } = input;
  const workflowId = workflowInfo().workflowId;
  const carried = input.carried;
  const state: IdentityState = {
    employeeId,
    lastAppliedSequence: carried?.lastAppliedSequence ?? -1,
    ...(carried?.lastEventType ? { lastEventType: carried.lastEventType } : {}),
    status: 'idle',
    accounts: carried?.accounts ?? {},
    scheduled: carried?.scheduled ?? [],
    awaitingApproval: carried?.awaitingApproval ?? [],
    ignoredEvents: [],
    pendingEvents: 0,
  };
  const recentEventIds: string[] = [...(carried?.recentEventIds ?? [])];
  const pending: HrEventReceived[] = [...(carried?.pending ?? [])];
  let applying: { sequence: number; scope: CancellationScope } | undefined;

  setHandler(hrEventReceived, (event) => {
    // A replayed Kafka message carries the same event id: harmless by construction.
    if (recentEventIds.includes(event.eventId) || pending.some((p) => p.eventId === event.eventId)) return;
    pending.push(event);
    // A termination supersedes the person's pending work, including a change in flight.
    if (event.type === 'hr.worker.terminated' && applying && event.snapshot.sequence > applying.sequence) applying.scope.cancel();
  });
  setHandler(getState, () => ({ ...state, pendingEvents: pending.length }));

  for (;;) {
    const due = nextDue(state.scheduled);
    const wake = () => pending.length > 0 || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
    if (due === undefined) await condition(wake);
    else await condition(wake, Math.max(1, due - Date.now()));
    if (pending.length > 0) {
      await takeEvents();
    } else if (due !== undefined && due <= Date.now()) {
      await runScheduled();
    } else if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      if (pending.length === 0) {
        await continueAsNew<typeof identityLifecycle>({
          employeeId,
          carried: {
            lastAppliedSequence: state.lastAppliedSequence,
            ...(state.lastEventType ? { lastEventType: state.lastEventType } : {}),
            accounts: state.accounts,
            scheduled: state.scheduled,
            awaitingApproval: state.awaitingApproval,
            recentEventIds,
            pending,
          },
        });
      }
    }
  }

  async function takeEvents(): Promise<void> {
    // Everything that arrived; the highest sequence wins, the rest is stale.
    const batch = pending.splice(0, pending.length).sort((a, b) => a.snapshot.sequence - b.snapshot.sequence);
    const newest = batch[batch.length - 1]!;
    for (const event of batch) {
      remember(recentEventIds, event.eventId);
      if (event === newest && event.snapshot.sequence > state.lastAppliedSequence) continue;
      const reason =
        event.snapshot.sequence <= state.lastAppliedSequence
          ? `sequence ${event.snapshot.sequence} is not newer than the applied sequence ${state.lastAppliedSequence}`
          : `superseded by sequence ${newest.snapshot.sequence} that arrived with it`;
      state.ignoredEvents = [...state.ignoredEvents, { eventId: event.eventId, sequence: event.snapshot.sequence, reason }].slice(-20);
      await finish(event, { status: 'ignored', policyVersion: 'n/a', steps: [], reason });
    }
    if (newest.snapshot.sequence > state.lastAppliedSequence) await converge(newest);
  }

  async function converge(event: HrEventReceived): Promise<void> {
    const { snapshot } = event;
    const changeId = event.eventId;
    state.status = 'provisioning';
    state.lastEventType = event.type;
    upsertSearchAttributes([
      { key: ProvisioningStatus, value: 'provisioning' },
      { key: LifecycleEvent, value: event.type },
      ...(snapshot.department ? [{ key: Department, value: snapshot.department }] : []),
    ]);
    const plan: Plan = await planChange({ employeeId, changeId, eventType: event.type, snapshot });
    // The new plan replaces what was scheduled or waiting: it was computed from the newest state.
    const now = Date.now();
    const later = plan.steps.filter((s) => s.notBefore !== undefined && Date.parse(s.notBefore) > now);
    const gated = plan.steps.filter((s) => !later.includes(s) && (s.approvals?.length ?? 0) > 0);
    const immediate = plan.steps.filter((s) => !later.includes(s) && !gated.includes(s));
    state.scheduled = later.map((step) => ({ changeId, eventId: event.eventId, sequence: snapshot.sequence, step, notBefore: step.notBefore! }));
    state.awaitingApproval = gated.map((step) => ({ changeId, step, approvals: step.approvals! }));

    const scope = new CancellationScope();
    applying = { sequence: snapshot.sequence, scope };
    let applied: AppliedChange;
    let superseded = false;
    try {
      applied = await scope.run(() => applyPlan({ employeeId, changeId, policyVersion: plan.policyVersion, snapshot, eventId: event.eventId }, immediate, knownAccounts()));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      superseded = true;
      applied = { steps: [], compensations: [], failed: false, accounts: knownAccounts() };
    } finally {
      applying = undefined;
    }
    rememberAccounts(applied.accounts);
    state.lastAppliedSequence = snapshot.sequence;
    const status: Outcome['status'] = superseded
      ? 'superseded'
      : applied.failed
        ? 'failed'
        : applied.steps.some((s) => s.outcome === 'action-required')
          ? 'action-required'
          : 'succeeded';
    state.status = status === 'succeeded' ? (snapshot.status === 'terminated' ? 'deprovisioned' : 'provisioned') : status === 'superseded' ? 'idle' : status;
    await finish(event, {
      status,
      policyVersion: plan.policyVersion,
      steps: applied.steps,
      ...(superseded ? { reason: 'a termination arrived while this change was being applied' } : {}),
      ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
      ...deferredOf([...later, ...gated]),
    });
  }

  async function runScheduled(): Promise<void> {
    const now = Date.now();
    const due = state.scheduled.filter((s) => Date.parse(s.notBefore) <= now);
    state.scheduled = state.scheduled.filter((s) => !due.includes(s));
    const first = due[0]!;
    const event: HrEventReceived = { eventId: `${first.eventId}/scheduled/${first.notBefore}`, type: state.lastEventType ?? 'hr.worker.updated', source: 'provisioner:timer', time: new Date(now).toISOString(), snapshot: { employeeId, sequence: first.sequence, effectiveAt: first.notBefore, status: 'active' } };
    let applied: AppliedChange;
    try {
      applied = await applyPlan({ employeeId, changeId: event.eventId, policyVersion: 'scheduled', snapshot: event.snapshot, eventId: event.eventId }, due.map((s) => s.step), knownAccounts());
    } catch (err) {
      applied = { steps: due.map((s) => ({ app: s.step.app, action: s.step.action, outcome: 'failed' as const, detail: failureMessage(err) })), compensations: [], failed: true, accounts: knownAccounts() };
    }
    rememberAccounts(applied.accounts);
    if (state.lastEventType === 'hr.worker.terminated' && !applied.failed) state.status = 'deprovisioned';
    await finish(event, {
      status: applied.failed ? 'failed' : 'succeeded',
      policyVersion: 'scheduled',
      steps: applied.steps,
      reason: `scheduled steps of change ${first.changeId}`,
      ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
    });
  }

  async function finish(event: HrEventReceived, result: Pick<Outcome, 'status' | 'policyVersion' | 'steps'> & Partial<Outcome>): Promise<void> {
    const outcome: Outcome = {
      changeId: `${workflowId}/${event.eventId}`,
      employeeId,
      eventId: event.eventId,
      eventType: event.type,
      sequence: event.snapshot.sequence,
      workflowId,
      ...result,
      // Workflow time is deterministic (the time of the workflow task), so this replays identically.
      completedAt: new Date().toISOString(),
    };
    if (result.status !== 'ignored') {
      upsertSearchAttributes([
        { key: ProvisioningStatus, value: state.status },
        { key: Application, value: Object.keys(state.accounts).sort() },
      ]);
    }
    await recordChange({ employeeId, changeId: outcome.changeId, eventId: event.eventId, sequence: event.snapshot.sequence, outcome });
    await publishOutcome(outcome);
  }

  function knownAccounts(): Record<string, AccountRef> {
    return Object.fromEntries(Object.entries(state.accounts).map(([app, a]) => [app, { app, id: a.accountId, externalId: employeeId }]));
  }

  function rememberAccounts(accounts: Record<string, AccountRef>): void {
    for (const [app, ref] of Object.entries(accounts)) state.accounts[app] = { accountId: ref.id };
  }
}

function nextDue(scheduled: ScheduledStep[]): number | undefined {
  return scheduled.length === 0 ? undefined : Math.min(...scheduled.map((s) => Date.parse(s.notBefore)));
}

function deferredOf(steps: PlanStep[]): Pick<Outcome, 'deferred'> {
  if (steps.length === 0) return {};
  return {
    deferred: steps.map((s) => ({ key: s.key, app: s.app, action: s.action, ...(s.notBefore ? { notBefore: s.notBefore } : {}), ...(s.approvals ? { approvals: s.approvals } : {}) })),
  };
}

function remember(ids: string[], id: string): void {
  ids.push(id);
  if (ids.length > RECENT_EVENT_IDS) ids.splice(0, ids.length - RECENT_EVENT_IDS);
}
