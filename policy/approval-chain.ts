// Approval gates as pure, JSON-plain state (docs/architecture.md#approval-rules, #approvals): what a
// request or a sensitive birthright entitlement needs, who may decide each approval, and what a
// decision or the passing of time does to it. Deterministic (time comes in as an argument), so the
// workflows run it and the unit tests drive it without a server. What must reach the store and the
// audit trail collects in the gate's outbox, which the workflow drains through an activity.
//
// Modes: sequential (one approval per approver, in order), any-of (one approval, one vote of any
// approver), n-of-m (one approval, `required` approvals from distinct approvers standing for
// distinct slots). One rejection rejects. An approver is never the requester or the beneficiary:
// a hard invariant checked here, not a setting. Employee ids compare case-insensitively (employee-ids.ts).
import { includesEmployee, sameEmployee } from './employee-ids.js';

/** One approver of a rule, resolved to the people who may act as it. */
export type ApproverSlot = { label: string; eligible: string[] };

/** One approval rule resolved for one entitlement and one person (by the assessing activity). */
export type ChainSpec = {
  /** `app:id` */
  entitlement: string;
  rule: string;
  reason: 'entitlement' | 'separation-of-duties';
  sodRule?: string;
  mode: 'sequential' | 'any-of' | 'n-of-m';
  /** n-of-m: distinct approvals needed; otherwise 1 per approval. */
  required: number;
  slots: ApproverSlot[];
  timeoutMs: number;
  /** After `afterMs` undecided, the escalation approver may decide too. */
  escalation?: { afterMs: number; slot: ApproverSlot };
  onTimeout: 'reject' | 'escalate';
  /** A reminder goes to the approvers after this long undecided. */
  reminderMs?: number;
};

export type Vote = { approverId: string; decision: 'approved' | 'rejected'; comment?: string; channel: 'api' | 'itsm'; eventId?: string; at: string };

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
export type GateStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';

export type ApprovalState = {
  approvalId: string;
  chain: number;
  stage: number;
  entitlement: string;
  rule: string;
  mode: ChainSpec['mode'];
  required: number;
  slots: ApproverSlot[];
  escalated: boolean;
  openedAt: number;
  remindAt?: number;
  escalateAt?: number;
  deadline: number;
  votes: Vote[];
  status: ApprovalStatus;
  reason?: string;
};

/** What the outside world is told (the store and the audit trail), drained by the workflow. */
export type ApprovalEvent =
  | { kind: 'opened'; approvalId: string; entitlement: string; rule: string; stage: number; mode: ChainSpec['mode']; required: number; eligible: string[]; deadline: string }
  | { kind: 'decided'; approvalId: string; vote: Vote; status: ApprovalStatus; approvals: number; required: number }
  | { kind: 'reminded'; approvalId: string; eligible: string[] }
  | { kind: 'escalated'; approvalId: string; eligible: string[]; deadline: string }
  | { kind: 'closed'; approvalId: string; status: 'expired' | 'withdrawn' | 'rejected'; reason: string };

export type Gate = {
  /** Approval ids are `${idPrefix}.${chain + 1}.${stage + 1}`. */
  idPrefix: string;
  beneficiaryId: string;
  requesterId?: string;
  chains: ChainSpec[];
  approvals: ApprovalState[];
  status: GateStatus;
  reasons: string[];
  outbox: ApprovalEvent[];
};

/** What the query `getApprovals` shows. */
export type ApprovalView = Omit<ApprovalState, 'slots' | 'openedAt' | 'remindAt' | 'escalateAt' | 'deadline' | 'votes'> & {
  eligible: string[];
  openedAt: string;
  deadline: string;
  votes: Array<Omit<Vote, 'comment'>>;
  beneficiaryId: string;
  requesterId?: string;
};

export type DecisionInput = { approvalId: string; approverId: string; decision: 'approved' | 'rejected'; comment?: string; channel: 'api' | 'itsm'; eventId?: string };

export type Refusal = { code: 'unknown-approval' | 'not-pending' | 'requester' | 'beneficiary' | 'not-eligible' | 'already-voted'; message: string };

const iso = (ms: number) => new Date(ms).toISOString();

const approvalIdOf = (gate: Gate, chain: number, stage: number) => `${gate.idPrefix}.${chain + 1}.${stage + 1}`;

/** The slots an approval of this chain and stage draws on: one per stage when sequential, all otherwise. */
function slotsOf(spec: ChainSpec, stage: number): ApproverSlot[] {
  return spec.mode === 'sequential' ? [spec.slots[stage]!] : spec.slots;
}

/** Everyone who may decide the approval (before the requester/beneficiary exclusion). */
export function eligibleOf(a: Pick<ApprovalState, 'slots'>): string[] {
  return [...new Set(a.slots.flatMap((s) => s.eligible))].sort();
}

/**
 * How many distinct slots the approving voters fill: a maximum matching of voters to slots they
 * belong to (each voter fills one slot, each slot counts once), by augmenting paths (tiny graphs).
 */
export function countApprovals(slots: ApproverSlot[], voters: string[]): number {
  const slotOf = new Map<number, string>();
  const tryAssign = (voter: string, seen: Set<number>): boolean => {
    for (let i = 0; i < slots.length; i++) {
      if (seen.has(i) || !includesEmployee(slots[i]!.eligible, voter)) continue;
      seen.add(i);
      const holder = slotOf.get(i);
      if (holder === undefined || tryAssign(holder, seen)) {
        slotOf.set(i, voter);
        return true;
      }
    }
    return false;
  };
  let n = 0;
  for (const v of voters) if (tryAssign(v, new Set())) n += 1;
  return n;
}

/** Could the approval still reach its required count with the people allowed to decide it? */
function feasible(gate: Gate, a: ApprovalState): boolean {
  const allowed = eligibleOf(a).filter((id) => !sameEmployee(id, gate.requesterId) && !sameEmployee(id, gate.beneficiaryId));
  return countApprovals(a.slots, allowed) >= a.required;
}

function openStage(gate: Gate, chain: number, stage: number, now: number): void {
  const spec = gate.chains[chain]!;
  const a: ApprovalState = {
    approvalId: approvalIdOf(gate, chain, stage),
    chain,
    stage,
    entitlement: spec.entitlement,
    rule: spec.rule,
    mode: spec.mode,
    required: spec.mode === 'n-of-m' ? spec.required : 1,
    slots: slotsOf(spec, stage),
    escalated: false,
    openedAt: now,
    ...(spec.reminderMs !== undefined && spec.reminderMs < spec.timeoutMs ? { remindAt: now + spec.reminderMs } : {}),
    ...(spec.escalation && spec.escalation.afterMs < spec.timeoutMs ? { escalateAt: now + spec.escalation.afterMs } : {}),
    deadline: now + spec.timeoutMs,
    votes: [],
    status: 'pending',
  };
  gate.approvals.push(a);
  gate.outbox.push({ kind: 'opened', approvalId: a.approvalId, entitlement: a.entitlement, rule: a.rule, stage, mode: a.mode, required: a.required, eligible: eligibleOf(a), deadline: iso(a.deadline) });
  // Nobody who may decide it (no manager on record, an empty group, only the requester): escalate, or reject.
  if (!feasible(gate, a)) {
    if (spec.escalation) escalate(gate, a, now, false);
    if (!feasible(gate, a)) close(gate, a, 'rejected', `no eligible approver for ${spec.rule}${spec.mode === 'sequential' ? ` (${spec.slots[stage]!.label})` : ''} who is neither the requester nor the beneficiary`, now);
  }
}

/** Opens a gate: the first approval of every chain at once (all chains must approve). */
export function openGate(input: { idPrefix: string; beneficiaryId: string; requesterId?: string; chains: ChainSpec[] }, now: number): Gate {
  const gate: Gate = { ...input, approvals: [], status: input.chains.length === 0 ? 'approved' : 'pending', reasons: [], outbox: [] };
  for (let c = 0; c < input.chains.length && gate.status === 'pending'; c++) openStage(gate, c, 0, now);
  return gate;
}

function escalate(gate: Gate, a: ApprovalState, now: number, extendDeadline: boolean): void {
  const spec = gate.chains[a.chain]!;
  if (!spec.escalation || a.escalated) return;
  a.escalated = true;
  a.slots = [...a.slots, spec.escalation.slot];
  delete a.escalateAt;
  if (extendDeadline) a.deadline = now + spec.timeoutMs;
  gate.outbox.push({ kind: 'escalated', approvalId: a.approvalId, eligible: eligibleOf(a), deadline: iso(a.deadline) });
}

function close(gate: Gate, a: ApprovalState, status: 'rejected' | 'expired' | 'withdrawn', reason: string, now: number): void {
  a.status = status;
  a.reason = reason;
  gate.outbox.push({ kind: 'closed', approvalId: a.approvalId, status, reason });
  if (status === 'withdrawn') return;
  gate.status = status;
  gate.reasons.push(reason);
  for (const other of gate.approvals) if (other.status === 'pending') close(gate, other, 'withdrawn', `${a.approvalId} was ${status}`, now);
}

/** Why this decision may not be taken, or undefined when it may (the update validators' check). */
export function refusalOf(gate: Gate, d: Omit<DecisionInput, 'comment' | 'channel' | 'eventId'>): Refusal | undefined {
  const a = gate.approvals.find((x) => x.approvalId === d.approvalId);
  if (!a) return { code: 'unknown-approval', message: `no approval ${d.approvalId} here` };
  if (sameEmployee(d.approverId, gate.requesterId)) return { code: 'requester', message: `${d.approverId} requested this access and cannot decide its approval` };
  if (sameEmployee(d.approverId, gate.beneficiaryId)) return { code: 'beneficiary', message: `${d.approverId} would receive this access and cannot decide its approval` };
  if (!includesEmployee(eligibleOf(a), d.approverId)) return { code: 'not-eligible', message: `${d.approverId} is not an approver of ${a.approvalId} (${a.slots.map((s) => s.label).join(', ')})` };
  if (a.votes.some((v) => sameEmployee(v.approverId, d.approverId))) return { code: 'already-voted', message: `${d.approverId} already decided ${a.approvalId}` };
  if (a.status !== 'pending') return { code: 'not-pending', message: `${a.approvalId} is ${a.status}` };
  return undefined;
}

/** Takes a decision that refusalOf accepted; opens the next stage of a sequential chain when one is approved. */
export function decide(gate: Gate, d: DecisionInput, now: number): ApprovalState {
  const a = gate.approvals.find((x) => x.approvalId === d.approvalId)!;
  const vote: Vote = { approverId: d.approverId, decision: d.decision, channel: d.channel, at: iso(now), ...(d.comment ? { comment: d.comment } : {}), ...(d.eventId ? { eventId: d.eventId } : {}) };
  a.votes.push(vote);
  const approvals = approvalsOf(a);
  if (d.decision === 'rejected') a.status = 'rejected';
  else if (approvals >= a.required) a.status = 'approved';
  gate.outbox.push({ kind: 'decided', approvalId: a.approvalId, vote, status: a.status, approvals, required: a.required });
  if (a.status === 'rejected') {
    a.reason = `rejected by ${d.approverId}`;
    gate.status = 'rejected';
    gate.reasons.push(a.reason);
    for (const other of gate.approvals) if (other.status === 'pending') close(gate, other, 'withdrawn', `${a.approvalId} was rejected`, now);
  } else if (a.status === 'approved') {
    const spec = gate.chains[a.chain]!;
    if (spec.mode === 'sequential' && a.stage + 1 < spec.slots.length) openStage(gate, a.chain, a.stage + 1, now);
    else if (gate.status === 'pending' && chainsDone(gate)) gate.status = 'approved';
  }
  return a;
}

export const approvalsOf = (a: ApprovalState): number =>
  countApprovals(a.slots, a.votes.filter((v) => v.decision === 'approved').map((v) => v.approverId));

function chainsDone(gate: Gate): boolean {
  return gate.chains.every((spec, c) => {
    const last = spec.mode === 'sequential' ? spec.slots.length - 1 : 0;
    return gate.approvals.some((a) => a.chain === c && a.stage === last && a.status === 'approved');
  });
}

/** The next time something is due (a reminder, an escalation, a deadline), or undefined. */
export function nextDue(gate: Gate): number | undefined {
  let next: number | undefined;
  for (const a of gate.approvals) {
    if (a.status !== 'pending') continue;
    for (const t of [a.remindAt, a.escalateAt, a.deadline]) if (t !== undefined && (next === undefined || t < next)) next = t;
  }
  return next;
}

/** Runs what is due at `now`: reminders, escalations, deadlines (escalate once, then reject as expired). */
export function tick(gate: Gate, now: number): void {
  for (const a of gate.approvals) {
    if (a.status !== 'pending') continue;
    if (a.remindAt !== undefined && a.remindAt <= now) {
      delete a.remindAt;
      gate.outbox.push({ kind: 'reminded', approvalId: a.approvalId, eligible: eligibleOf(a) });
    }
    if (a.escalateAt !== undefined && a.escalateAt <= now) escalate(gate, a, now, false);
    if (a.deadline <= now) {
      const spec = gate.chains[a.chain]!;
      if (spec.onTimeout === 'escalate' && spec.escalation && !a.escalated) escalate(gate, a, now, true);
      else close(gate, a, 'expired', `${a.approvalId} was not decided by its deadline (${spec.rule}, ${iso(a.deadline)})`, now);
    }
  }
}

/** Withdraws what is pending (the request was superseded, the person left). */
export function withdraw(gate: Gate, reason: string, now: number): void {
  if (gate.status !== 'pending') return;
  for (const a of gate.approvals) if (a.status === 'pending') close(gate, a, 'withdrawn', reason, now);
  gate.status = 'withdrawn';
  gate.reasons.push(reason);
}

/** Takes what the outbox holds (the workflow records it through an activity). */
export function drain(gate: Gate): ApprovalEvent[] {
  return gate.outbox.splice(0, gate.outbox.length);
}

export function viewOf(gate: Gate): ApprovalView[] {
  return gate.approvals.map((a) => ({
    approvalId: a.approvalId,
    chain: a.chain,
    stage: a.stage,
    entitlement: a.entitlement,
    rule: a.rule,
    mode: a.mode,
    required: a.required,
    escalated: a.escalated,
    status: a.status,
    ...(a.reason ? { reason: a.reason } : {}),
    eligible: eligibleOf(a),
    openedAt: iso(a.openedAt),
    deadline: iso(a.deadline),
    votes: a.votes.map(({ comment: _comment, ...v }) => v),
    beneficiaryId: gate.beneficiaryId,
    ...(gate.requesterId ? { requesterId: gate.requesterId } : {}),
  }));
}
