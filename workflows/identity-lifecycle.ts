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
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Plan, PlanStep } from '../activities/lifecycle-types.js';
import type { AccountRef } from '../connectors/contract.js';
import type { Outcome, StepOutcome } from '../schemas/outcomes.js';
import { applyPlan, failureMessage, type AppliedChange, type ChangeContext } from './apply-plan.js';
import { fenceDecision, fenceWorkflowId, permitWithdrawn, type FenceDecision } from './fence-messages.js';
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

// Asks the fence (update-with-start on fence/<taskQueue>); retried until the fence answers.
const { requestFencePermit } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
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
  const fenceDecisions: Record<string, FenceDecision> = {};
  setHandler(fenceDecision, (d) => {
    fenceDecisions[d.batchId] = d;
  });

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
      applied = await scope.run(() => applyFenced({ employeeId, changeId, policyVersion: plan.policyVersion, snapshot, eventId: event.eventId }, event.source, immediate));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      superseded = true;
      applied = { steps: [], compensations: [], failed: false, accounts: knownAccounts() };
    } finally {
      applying = undefined;
    }
    rememberAccounts(applied.accounts);
    state.lastAppliedSequence = snapshot.sequence;
    const rejected = applied.steps.some((s) => s.outcome === 'rejected');
    // A rejected batch changes nothing: neither now nor later (the change's scheduled destructive steps go too).
    if (rejected) state.scheduled = state.scheduled.filter((s) => s.changeId !== changeId || !s.step.fenced);
    const status: Outcome['status'] = superseded
      ? 'superseded'
      : applied.failed
        ? 'failed'
        : rejected || applied.steps.some((s) => s.outcome === 'action-required')
          ? 'action-required'
          : 'succeeded';
    state.status = status === 'succeeded' ? (snapshot.status === 'terminated' ? 'deprovisioned' : 'provisioned') : status === 'superseded' ? 'idle' : status;
    await finish(event, {
      status,
      policyVersion: plan.policyVersion,
      steps: applied.steps,
      ...(superseded ? { reason: 'a termination arrived while this change was being applied' } : rejected ? { reason: 'an operator rejected the fence batch that held its destructive steps: they were not applied' } : {}),
      ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
      ...deferredOf([...later.filter((s) => !rejected || !s.fenced), ...gated]),
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
      applied = await applyFenced({ employeeId, changeId: event.eventId, policyVersion: 'scheduled', snapshot: event.snapshot, eventId: event.eventId }, event.source, due.map((s) => s.step));
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

  /** Applies the steps once the fence lets their destructive ones through; what it rejected is skipped and reported. */
  async function applyFenced(ctx: ChangeContext, source: string, steps: PlanStep[]): Promise<AppliedChange> {
    const refused = await passFence(ctx, source, steps);
    const allowed = refused.length === 0 ? steps : steps.filter((s) => !s.fenced);
    const applied = await applyPlan(ctx, allowed, knownAccounts());
    return refused.length === 0 ? applied : { ...applied, steps: [...applied.steps, ...refused] };
  }

  /** Asks the fence for the change's destructive steps; when held, waits for the batch's decision. Returns the refused steps. */
  async function passFence(ctx: ChangeContext, source: string, steps: PlanStep[]): Promise<StepOutcome[]> {
    const fenced = steps.filter((s) => s.fenced);
    if (fenced.length === 0 || !patched('fence-gate')) return [];
    const requestId = `${workflowId}/${ctx.changeId}`;
    const fenceId = fenceWorkflowId(workflowInfo().taskQueue);
    const answer = await requestFencePermit({
      fenceWorkflowId: fenceId,
      taskQueue: workflowInfo().taskQueue,
      request: { requestId, workflowId, employeeId, source, steps: fenced.map((s) => ({ key: s.key, app: s.app, action: s.fenced!, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}) })) },
    });
    if (answer.permit === 'allowed') return [];
    const before = state.status;
    state.fenceHold = { batchId: answer.batchId, steps: fenced.map((s) => s.key), reasons: answer.reasons };
    upsertSearchAttributes([{ key: ProvisioningStatus, value: 'fence-held' }]);
    try {
      await condition(() => fenceDecisions[answer.batchId] !== undefined);
    } catch (err) {
      // Superseded while held: the fence no longer lists this request.
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => getExternalWorkflowHandle(fenceId).signal(permitWithdrawn, { requestId }).catch(() => undefined));
      throw err;
    } finally {
      delete state.fenceHold;
    }
    const decision = fenceDecisions[answer.batchId]!;
    delete fenceDecisions[answer.batchId];
    state.status = before;
    upsertSearchAttributes([{ key: ProvisioningStatus, value: state.status }]);
    if (decision.decision === 'released') return [];
    const detail = `rejected by the fence: batch ${decision.batchId} (by ${decision.operators.join(', ')})`;
    return fenced.map((s) => ({ app: s.app, action: s.action, outcome: 'rejected' as const, detail, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}), ...(s.account ? { accountId: s.account.id } : {}) }));
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
