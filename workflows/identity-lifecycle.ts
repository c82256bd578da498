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
import type { ChangeEventType, PlannedChange, PlanStep } from '../activities/lifecycle-types.js';
import type { AccountRef } from '../connectors/contract.js';
import type { HrEventType, WorkerSnapshot } from '../schemas/events.js';
import type { Outcome, StepOutcome } from '../schemas/outcomes.js';
import { drain, nextDue as gateDue, openGate, tick, viewOf, withdraw, type ApprovalView } from './approval-chain.js';
import { handleApprovals } from './approval-handlers.js';
import { accessGranted, accessRevocationRequested, identityApprovalPrefix } from './approval-messages.js';
import { applyPlan, failureMessage, type AppliedChange, type ChangeContext } from './apply-plan.js';
import { planChangeThroughQueues } from './plan-change.js';
import { fenceDecision, fenceWorkflowId, permitWithdrawn, type FenceDecision } from './fence-messages.js';
import {
  getState,
  hrEventReceived,
  type HrEventReceived,
  type IdentityLifecycleInput,
  type IdentityState,
  type RequestWork,
  type ScheduledStep,
  type StepGate,
} from './messages.js';
import { Application, Department, LifecycleEvent, ProvisioningStatus } from './search-attributes.js';

const { recordChange, publishOutcome, resolveApprovalChains, recordApprovalEvents, recordRequestGrant, endRequestGrants } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

// Asks the fence (update-with-start on fence/<taskQueue>); retried until the fence answers.
const { requestFencePermit } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

const RECENT_EVENT_IDS = 200;
const CLOSED_APPROVALS_SHOWN = 20;

/** One change to converge: an HR event, or a change from an access request, its expiry or an approval. */
type Change = {
  changeId: string;
  eventId: string;
  eventType: HrEventType | ChangeEventType;
  source: string;
  sequence: number;
  /** HR changes bring their snapshot; the others plan on the newest one. */
  snapshot?: WorkerSnapshot;
  ticketId?: string;
};

const hrChange = (event: HrEventReceived): Change => ({ changeId: event.eventId, eventId: event.eventId, eventType: event.type, source: event.source, sequence: event.snapshot.sequence, snapshot: event.snapshot });
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
  if (carried?.grants?.length) state.grants = carried.grants;
  const recentEventIds: string[] = [...(carried?.recentEventIds ?? [])];
  const pending: HrEventReceived[] = [...(carried?.pending ?? [])];
  const requests: RequestWork[] = [...(carried?.requests ?? [])];
  let gates: StepGate[] = [...(carried?.gates ?? [])];
  let gateCounter = carried?.gateCounter ?? 0;
  let lastSnapshot: WorkerSnapshot | undefined = carried?.snapshot;
  let closedApprovals: ApprovalView[] = [];
  let applying: { sequence: number; scope: CancellationScope } | undefined;

  setHandler(hrEventReceived, (event) => {
    // A replayed Kafka message carries the same event id: harmless by construction.
    if (recentEventIds.includes(event.eventId) || pending.some((p) => p.eventId === event.eventId)) return;
    pending.push(event);
    // A termination supersedes the person's pending work, including a change in flight.
    if (event.type === 'hr.worker.terminated' && applying && event.snapshot.sequence > applying.sequence) applying.scope.cancel();
  });
  setHandler(getState, () => ({ ...state, pendingEvents: pending.length + requests.length }));
  // Access requests hand over approved grants and revoke requests; duplicates are harmless.
  setHandler(accessGranted, (grant) => {
    if (recentEventIds.includes(`grant/${grant.ticketId}`) || requests.some((r) => r.kind === 'grant' && r.grant.ticketId === grant.ticketId)) return;
    requests.push({ kind: 'grant', grant });
  });
  setHandler(accessRevocationRequested, (revoke) => {
    if (recentEventIds.includes(revoke.eventId) || requests.some((r) => r.kind === 'revoke' && r.revoke.eventId === revoke.eventId)) return;
    requests.push({ kind: 'revoke', revoke });
  });
  // Sensitive birthright steps wait for their approvals, decided by the same approve / reject updates as requests.
  handleApprovals(() => gates.map((g) => g.gate), () => closedApprovals);
  const fenceDecisions: Record<string, FenceDecision> = {};
  setHandler(fenceDecision, (d) => {
    fenceDecisions[d.batchId] = d;
  });

  for (;;) {
    const due = earliest([nextDue(state.scheduled), nextExpiry(), ...gates.map((g) => gateDue(g.gate))]);
    const gatesMoved = () => gates.some((g) => g.gate.outbox.length > 0 || g.gate.status !== 'pending');
    const wake = () => pending.length > 0 || requests.length > 0 || gatesMoved() || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
    if (due === undefined) await condition(wake);
    else await condition(wake, Math.max(1, due - Date.now()));
    if (pending.length > 0) {
      await takeEvents();
    } else if (requests.length > 0) {
      await takeRequest(requests.shift()!);
    } else if (gatesMoved()) {
      await settleGates();
    } else if (due !== undefined && due <= Date.now()) {
      const now = Date.now();
      const dueGates = gates.filter((g) => (gateDue(g.gate) ?? Infinity) <= now);
      if (dueGates.length > 0) {
        for (const g of dueGates) tick(g.gate, now);
        await settleGates();
      } else if ((nextExpiry() ?? Infinity) <= now) await expireGrants();
      else await runScheduled();
    } else if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      if (pending.length === 0 && requests.length === 0 && !gatesMoved()) {
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
            ...(state.grants?.length ? { grants: state.grants } : {}),
            ...(gates.length > 0 ? { gates, gateCounter } : gateCounter > 0 ? { gateCounter } : {}),
            ...(lastSnapshot ? { snapshot: lastSnapshot } : {}),
          },
        });
      }
    }
  }

  function nextExpiry(): number | undefined {
    return state.grants?.length ? Math.min(...state.grants.map((g) => Date.parse(g.expiresAt))) : undefined;
  }

  /** An approved access request's grant, or a revoke request: recorded, then the person is converged. */
  async function takeRequest(work: RequestWork): Promise<void> {
    const base = { source: 'itsm', sequence: state.lastAppliedSequence };
    if (work.kind === 'grant') {
      const { grant } = work;
      remember(recentEventIds, `grant/${grant.ticketId}`);
      await recordRequestGrant({ employeeId, ticketId: grant.ticketId, eventId: grant.eventId, app: grant.app, entitlementId: grant.entitlementId, approvalIds: grant.approvalIds, ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}) });
      if (grant.expiresAt) state.grants = [...(state.grants ?? []).filter((g) => g.ticketId !== grant.ticketId), { ticketId: grant.ticketId, app: grant.app, entitlementId: grant.entitlementId, expiresAt: grant.expiresAt }];
      await converge({ ...base, changeId: `grant/${grant.ticketId}`, eventId: grant.eventId, eventType: 'itsm.access.requested', ticketId: grant.ticketId });
    } else {
      const { revoke } = work;
      remember(recentEventIds, revoke.eventId);
      await endRequestGrants({ employeeId, ticketId: revoke.ticketId, eventId: revoke.eventId, app: revoke.app, entitlementId: revoke.entitlementId, requesterId: revoke.requesterId });
      state.grants = (state.grants ?? []).filter((g) => g.app !== revoke.app || g.entitlementId !== revoke.entitlementId);
      await converge({ ...base, source: revoke.source, changeId: `revoke/${revoke.ticketId}`, eventId: revoke.eventId, eventType: 'itsm.access.revoke.requested', ticketId: revoke.ticketId });
    }
  }

  /** Time-bound grants whose end has come: the person is converged without them (the plan revokes at once). */
  async function expireGrants(): Promise<void> {
    const now = Date.now();
    const ended = (state.grants ?? []).filter((g) => Date.parse(g.expiresAt) <= now);
    state.grants = (state.grants ?? []).filter((g) => !ended.includes(g));
    const first = ended[0]!;
    await converge({ changeId: `expiry/${first.ticketId}/${first.expiresAt}`, eventId: `expiry/${first.ticketId}/${first.expiresAt}`, eventType: 'provisioner.grant.expired', source: 'provisioner:timer', sequence: state.lastAppliedSequence, ticketId: first.ticketId });
  }

  /** Records what the approval gates did; applies a step its approvers approved, reports one they did not. */
  async function settleGates(): Promise<void> {
    // Decisions can arrive while earlier ones are being recorded: record until every outbox is empty.
    for (let more = true; more; ) {
      more = false;
      for (const g of gates) {
        const events = drain(g.gate);
        if (events.length === 0) continue;
        more = true;
        await recordApprovalEvents({ workflowId, beneficiaryId: employeeId, policyVersion: g.policyVersion, events });
      }
    }
    const settled = gates.filter((g) => g.gate.status !== 'pending');
    if (settled.length === 0) return;
    gates = gates.filter((g) => !settled.includes(g));
    closedApprovals = [...closedApprovals, ...settled.flatMap((g) => viewOf(g.gate))].slice(-CLOSED_APPROVALS_SHOWN);
    state.awaitingApproval = state.awaitingApproval.filter((a) => !settled.some((g) => g.changeId === a.changeId && g.step.key === a.step.key));
    for (const g of settled) {
      if (g.gate.status === 'withdrawn') continue;
      const change: Change = { changeId: `approval/${g.gate.idPrefix}`, eventId: `approval/${g.gate.idPrefix}`, eventType: 'provisioner.approval.decided', source: 'provisioner:approval', sequence: state.lastAppliedSequence };
      if (g.gate.status !== 'approved' || !lastSnapshot) {
        const detail = g.gate.status === 'approved' ? 'approved, but no snapshot to apply it with: the next HR event converges it' : `not approved: ${g.gate.reasons.join('; ')}`;
        await finish(change, { status: 'rejected', policyVersion: g.policyVersion, steps: [{ app: g.step.app, action: g.step.action, outcome: 'rejected', detail: detail.slice(0, 1000), ...(g.step.entitlementId ? { entitlementId: g.step.entitlementId } : {}) }], reason: detail.slice(0, 1000) });
        continue;
      }
      let applied: AppliedChange;
      try {
        applied = await applyFenced({ employeeId, changeId: change.changeId, policyVersion: g.policyVersion, snapshot: lastSnapshot, eventId: change.eventId }, change.source, [g.step]);
      } catch (err) {
        applied = { steps: [{ app: g.step.app, action: g.step.action, outcome: 'failed', detail: failureMessage(err) }], compensations: [], failed: true, accounts: knownAccounts() };
      }
      rememberAccounts(applied.accounts);
      await finish(change, {
        status: applied.failed ? 'failed' : 'succeeded',
        policyVersion: g.policyVersion,
        steps: applied.steps,
        reason: `approved: ${g.gate.approvals.filter((a) => a.status === 'approved').map((a) => a.approvalId).join(', ')}`,
        ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
      });
    }
  }

  /** Opens an approval gate for each sensitive step that has none yet; withdraws the gates the new plan no longer needs. */
  async function gateSteps(change: Change, policyVersion: string, gated: PlanStep[]): Promise<Record<string, string[]>> {
    const keep = new Set(gated.map((s) => s.key));
    for (const g of gates) if (!keep.has(g.step.key)) withdraw(g.gate, `no longer planned after change ${change.changeId}`, Date.now());
    const fresh = gated.filter((s) => !gates.some((g) => g.gate.status === 'pending' && g.step.key === s.key));
    if (fresh.length > 0) {
      const chains = await resolveApprovalChains({ employeeId, steps: fresh.map((s) => ({ key: s.key, entitlement: `${s.app}:${s.entitlementId ?? ''}`, rules: s.approvals ?? [] })) });
      for (const step of fresh) {
        gateCounter += 1;
        const gate = openGate({ idPrefix: identityApprovalPrefix(employeeId, gateCounter), beneficiaryId: employeeId, chains: chains[step.key] ?? [] }, Date.now());
        gates.push({ changeId: change.changeId, eventId: change.eventId, policyVersion, step, gate });
      }
    }
    await settleGates();
    return Object.fromEntries(gates.map((g) => [g.step.key, g.gate.approvals.map((a) => a.approvalId)]));
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
      await finish(hrChange(event), { status: 'ignored', policyVersion: 'n/a', steps: [], reason });
    }
    if (newest.snapshot.sequence > state.lastAppliedSequence) await converge(hrChange(newest));
  }

  async function converge(change: Change): Promise<void> {
    const changeId = change.changeId;
    state.status = 'provisioning';
    if (change.snapshot) {
      state.lastEventType = change.eventType as HrEventType;
      upsertSearchAttributes([
        { key: ProvisioningStatus, value: 'provisioning' },
        { key: LifecycleEvent, value: change.eventType },
        ...(change.snapshot.department ? [{ key: Department, value: change.snapshot.department }] : []),
      ]);
    } else upsertSearchAttributes([{ key: ProvisioningStatus, value: 'provisioning' }]);
    const plan: PlannedChange = await planChangeThroughQueues({ employeeId, changeId, eventType: change.eventType, ...(change.snapshot ? { snapshot: change.snapshot } : {}) });
    // Plans from builds before access requests carry no snapshot: then it is the event's.
    const snapshot = plan.snapshot ?? change.snapshot!;
    lastSnapshot = snapshot;
    // The new plan replaces what was scheduled or waiting: it was computed from the newest state.
    const now = Date.now();
    const later = plan.steps.filter((s) => s.notBefore !== undefined && Date.parse(s.notBefore) > now);
    const gated = plan.steps.filter((s) => !later.includes(s) && (s.approvals?.length ?? 0) > 0);
    const immediate = plan.steps.filter((s) => !later.includes(s) && !gated.includes(s));
    state.scheduled = later.map((step) => ({ changeId, eventId: change.eventId, sequence: change.sequence, step, notBefore: step.notBefore! }));
    // Sensitive steps wait for approvals, each gate addressed by approval ids (builds before the gates only listed them).
    const approvalIds = (gated.length > 0 || gates.length > 0) && patched('approval-gates') ? await gateSteps(change, plan.policyVersion, gated) : {};
    state.awaitingApproval = gated.map((step) => ({ changeId, step, approvals: step.approvals!, ...(approvalIds[step.key] ? { approvalIds: approvalIds[step.key] } : {}) }));

    // A termination (a newer sequence) supersedes this change while it is applied, whatever brought it.
    const scope = new CancellationScope();
    applying = { sequence: change.sequence, scope };
    let applied: AppliedChange;
    let superseded = false;
    try {
      applied = await scope.run(() => applyFenced({ employeeId, changeId, policyVersion: plan.policyVersion, snapshot, eventId: change.eventId }, change.source, immediate));
    } catch (err) {
      if (!isCancellation(err)) throw err;
      superseded = true;
      applied = { steps: [], compensations: [], failed: false, accounts: knownAccounts() };
    } finally {
      applying = undefined;
    }
    rememberAccounts(applied.accounts);
    // Only an HR snapshot advances the applied sequence; a grant, an expiry or an approval keeps it.
    if (change.snapshot) state.lastAppliedSequence = change.sequence;
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
    await finish(change, {
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
    await finish(hrChange(event), {
      status: applied.failed ? 'failed' : 'succeeded',
      policyVersion: 'scheduled',
      steps: applied.steps,
      reason: `scheduled steps of change ${first.changeId}`,
      ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
    });
  }

  async function finish(change: Change, result: Pick<Outcome, 'status' | 'policyVersion' | 'steps'> & Partial<Outcome>): Promise<void> {
    const outcome: Outcome = {
      changeId: `${workflowId}/${change.changeId}`,
      employeeId,
      ...(change.ticketId ? { ticketId: change.ticketId } : {}),
      eventId: change.eventId,
      eventType: change.eventType,
      sequence: change.sequence,
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
    await recordChange({ employeeId, changeId: outcome.changeId, eventId: change.eventId, sequence: change.sequence, outcome });
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

function earliest(times: Array<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
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
