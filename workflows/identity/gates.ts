// Approval gates of sensitive birthright steps: opened (or withdrawn) when a plan is made, their
// events recorded as approvers decide, and the step applied or reported once its gate settles.
import type { PlanStep } from '../../activities/lifecycle-types.js';
import type { HeldAccount } from './dated.js';
import { drain, nextDue, openGate, tick, viewOf, withdraw } from '../../policy/approval-chain.js';
import { identityApprovalPrefix } from '../approval-messages.js';
import { failureMessage, type AppliedChange } from '../apply-plan.js';
import { recordApprovalEvents, resolveApprovalChains } from './activities.js';
import { holdAccounts, withHeldAccount } from './dated.js';
import { applyFenced } from './fence.js';
import { finish } from './outcomes.js';
import { knownAccounts, rememberAccounts, type Change, type Identity } from './state.js';

const CLOSED_APPROVALS_SHOWN = 20;

/** Whether a gate has events to record or has settled: the main loop then settles the gates. */
export function gatesMoved(id: Identity): boolean {
  return id.gates.some((g) => g.gate.outbox.length > 0 || g.gate.status !== 'pending');
}

/** When each gate next reminds, escalates or reaches its deadline (undefined: never). */
export function gateDueTimes(id: Identity): Array<number | undefined> {
  return id.gates.map((g) => nextDue(g.gate));
}

/** Moves the gates whose time has come (reminder, escalation, deadline); false when none had. */
export function tickDueGates(id: Identity, now: number): boolean {
  const due = id.gates.filter((g) => (nextDue(g.gate) ?? Infinity) <= now);
  for (const g of due) tick(g.gate, now);
  return due.length > 0;
}

/** Opens an approval gate for each sensitive step that has none yet; withdraws the gates the new plan no longer needs. */
export async function gateSteps(id: Identity, change: Change, policyVersion: string, gated: PlanStep[], held: HeldAccount[] = []): Promise<Record<string, string[]>> {
  const { employeeId } = id;
  const keep = new Set(gated.map((s) => s.key));
  for (const g of id.gates) if (!keep.has(g.step.key)) withdraw(g.gate, `no longer planned after change ${change.changeId}`, Date.now());
  const fresh = gated.filter((s) => !id.gates.some((g) => g.gate.status === 'pending' && g.step.key === s.key));
  if (fresh.length > 0) {
    const chains = await resolveApprovalChains({ employeeId, steps: fresh.map((s) => ({ key: s.key, entitlement: `${s.app}:${s.entitlementId ?? ''}`, rules: s.approvals ?? [] })) });
    for (const step of fresh) {
      id.gateCounter += 1;
      const gate = openGate({ idPrefix: identityApprovalPrefix(employeeId, id.gateCounter), beneficiaryId: employeeId, chains: chains[step.key] ?? [] }, Date.now());
      id.gates.push({ changeId: change.changeId, eventId: change.eventId, policyVersion, step, gate });
    }
  }
  holdAccounts(id, held);
  await settleGates(id);
  return Object.fromEntries(id.gates.map((g) => [g.step.key, g.gate.approvals.map((a) => a.approvalId)]));
}

/** Records what the approval gates did; applies a step its approvers approved, reports one they did not. */
export async function settleGates(id: Identity): Promise<void> {
  const { employeeId, workflowId, state } = id;
  // Decisions can arrive while earlier ones are being recorded: record until every outbox is empty.
  for (let more = true; more; ) {
    more = false;
    for (const g of id.gates) {
      const events = drain(g.gate);
      if (events.length === 0) continue;
      more = true;
      await recordApprovalEvents({ workflowId, beneficiaryId: employeeId, policyVersion: g.policyVersion, events });
    }
  }
  const settled = id.gates.filter((g) => g.gate.status !== 'pending');
  if (settled.length === 0) return;
  id.gates = id.gates.filter((g) => !settled.includes(g));
  id.closedApprovals = [...id.closedApprovals, ...settled.flatMap((g) => viewOf(g.gate))].slice(-CLOSED_APPROVALS_SHOWN);
  state.awaitingApproval = state.awaitingApproval.filter((a) => !settled.some((g) => g.changeId === a.changeId && g.step.key === a.step.key));
  for (const g of settled) {
    if (g.gate.status === 'withdrawn') continue;
    const change: Change = { changeId: `approval/${g.gate.idPrefix}`, eventId: `approval/${g.gate.idPrefix}`, eventType: 'provisioner.approval.decided', source: 'provisioner:approval', sequence: state.lastAppliedSequence };
    if (g.gate.status !== 'approved' || !id.lastSnapshot) {
      const detail = g.gate.status === 'approved' ? 'approved, but no snapshot to apply it with: the next HR event converges it' : `not approved: ${g.gate.reasons.join('; ')}`;
      await finish(id, change, { status: 'rejected', policyVersion: g.policyVersion, steps: [{ app: g.step.app, action: g.step.action, outcome: 'rejected', detail: detail.slice(0, 1000), ...(g.step.entitlementId ? { entitlementId: g.step.entitlementId } : {}) }], reason: detail.slice(0, 1000) });
      continue;
    }
    let applied: AppliedChange;
    try {
      applied = await applyFenced(id, { employeeId, changeId: change.changeId, policyVersion: g.policyVersion, snapshot: id.lastSnapshot, eventId: change.eventId }, change.source, withHeldAccount(id, g, change));
    } catch (err) {
      applied = { steps: [{ app: g.step.app, action: g.step.action, outcome: 'failed', detail: failureMessage(err) }], compensations: [], failed: true, accounts: knownAccounts(id) };
    }
    rememberAccounts(id, applied.accounts, applied.removed);
    await finish(id, change, {
      status: applied.failed ? 'failed' : 'succeeded',
      policyVersion: g.policyVersion,
      steps: applied.steps,
      reason: `approved: ${g.gate.approvals.filter((a) => a.status === 'approved').map((a) => a.approvalId).join(', ')}`,
      ...(applied.compensations.length > 0 ? { compensations: applied.compensations } : {}),
    });
  }
}
