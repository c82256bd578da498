// The retired fence workflow's bookkeeping, pure and JSON-plain (it holds it and carries it across
// continue-as-new; unit tests drive it directly). The fence now counts and holds in the store
// (store/fence.ts); both decide an ask with policy/fence-count.ts. Destructive steps are counted in a sliding window
// per scope (source feed × action, application × action): a step that would take a scope past its
// limit holds its whole request, and so does any request in a scope of a batch still open, so a
// slow drip cannot trickle past a tripped fence. Held requests wait in one open batch until an
// operator releases it (as many operators as the strictest request asked for) or rejects it.
import type { BatchDecision, FenceBatch, FenceDecision, FenceState, HeldRequest, PermitAnswer, PermitRequest } from './fence-messages.js';
import { scopeKey } from './fence-messages.js';
import { includesEmployee } from '../policy/employee-ids.js';
import { judgePermit, stepsPerScope } from '../policy/fence-count.js';

export type FenceModel = {
  windowMs: number;
  /** One entry per (step, scope key) let through, newest last. */
  admitted: Array<{ at: number; key: string }>;
  held: HeldRequest[];
  /** Open batches and the most recent decided ones; `scopes` are the scope keys a batch holds. */
  batches: Array<FenceBatch & { scopes: string[] }>;
  nextBatch: number;
  /** Recent answers by request id: a retried ask gets the same answer. */
  answers: Array<{ requestId: string; answer: PermitAnswer }>;
};

const KEEP_ANSWERS = 2_000;
const KEEP_DECIDED = 50;

export const emptyFence = (): FenceModel => ({ windowMs: 15 * 60_000, admitted: [], held: [], batches: [], nextBatch: 1, answers: [] });

function prune(m: FenceModel, now: number): void {
  const from = now - m.windowMs;
  const first = m.admitted.findIndex((a) => a.at > from);
  m.admitted.splice(0, first === -1 ? m.admitted.length : first);
}

/** Read-only (queries call it too). */
export function countsInWindow(m: FenceModel, now: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of m.admitted) if (a.at > now - m.windowMs) counts[a.key] = (counts[a.key] ?? 0) + 1;
  return counts;
}

const openBatch = (m: FenceModel) => m.batches.find((b) => b.status === 'open');

/** Decides one ask: allowed (and counted) or held in the open batch. Mutates the model. */
export function decidePermit(m: FenceModel, req: PermitRequest, now: number): PermitAnswer {
  const prior = m.answers.find((a) => a.requestId === req.requestId);
  if (prior) return prior.answer;
  m.windowMs = req.windowMs;
  prune(m, now);
  const need = stepsPerScope(req.source, req.steps);
  let open = openBatch(m);
  const judged = judgePermit({ inWindow: countsInWindow(m, now), need, limits: req.limits, windowMs: m.windowMs, ...(open ? { open: { batchId: open.batchId, scopes: open.scopes } } : {}) });
  let answer: PermitAnswer;
  if (judged.permit === 'allowed') {
    for (const [key, n] of Object.entries(need)) for (let i = 0; i < n; i++) m.admitted.push({ at: now, key });
    answer = { permit: 'allowed' };
  } else {
    if (!open) {
      open = { batchId: `batch-${m.nextBatch++}`, status: 'open', openedAt: new Date(now).toISOString(), reasons: [], releasesRequired: 1, releasedBy: [], requests: 0, scopes: [] };
      m.batches.push(open);
    }
    for (const key of judged.tripped) if (!open.scopes.includes(key)) open.scopes.push(key);
    if (judged.tripped.length > 0) for (const r of judged.reasons) if (!open.reasons.includes(r) && open.reasons.length < 20) open.reasons.push(r);
    open.requests += 1;
    open.releasesRequired = Math.max(open.releasesRequired, req.releasesRequired);
    m.held.push({ requestId: req.requestId, batchId: open.batchId, workflowId: req.workflowId, employeeId: req.employeeId, source: req.source, steps: req.steps, heldAt: new Date(now).toISOString() });
    answer = { permit: 'held', batchId: open.batchId, reasons: judged.reasons };
  }
  m.answers.push({ requestId: req.requestId, answer });
  if (m.answers.length > KEEP_ANSWERS) m.answers.splice(0, m.answers.length - KEEP_ANSWERS);
  return answer;
}

/** Why a release or reject cannot be taken (the update's validator), or undefined. */
export function refusal(m: FenceModel, d: BatchDecision, kind: 'release' | 'reject'): string | undefined {
  if (!d || typeof d.operator !== 'string' || d.operator.trim() === '') return 'an operator id is required';
  const batch = m.batches.find((b) => b.batchId === d.batchId);
  if (!batch) return `no batch ${d.batchId}`;
  if (batch.status !== 'open') return `batch ${d.batchId} was already ${batch.status}`;
  // One person in any letter case (policy/employee-ids.ts): `e1001` cannot add a second release to `E1001`'s.
  if (kind === 'release' && includesEmployee(batch.releasedBy, d.operator)) return `${d.operator} already released batch ${d.batchId}: it needs another operator`;
  return undefined;
}

export type Decided = { batch: FenceBatch; notify: Array<{ workflowId: string; decision: FenceDecision }> };

/** Applies a validated release or reject. A release takes effect with the last required operator. */
export function decideBatch(m: FenceModel, d: BatchDecision, kind: 'release' | 'reject', now: number): Decided {
  const batch = m.batches.find((b) => b.batchId === d.batchId)!;
  if (kind === 'release') {
    batch.releasedBy.push(d.operator);
    if (batch.releasedBy.length < batch.releasesRequired) return { batch: publicBatch(batch), notify: [] };
  }
  batch.status = kind === 'release' ? 'released' : 'rejected';
  batch.decidedBy = kind === 'release' ? [...batch.releasedBy] : [d.operator];
  batch.decidedAt = new Date(now).toISOString();
  const held = m.held.filter((h) => h.batchId === batch.batchId);
  m.held = m.held.filter((h) => h.batchId !== batch.batchId);
  // Released steps run now: they count in the window like any other.
  if (kind === 'release') {
    for (const h of held) for (const s of h.steps) m.admitted.push({ at: now, key: scopeKey('source', h.source, s.action) }, { at: now, key: scopeKey('app', s.app, s.action) });
  }
  const decided = m.batches.filter((b) => b.status !== 'open');
  if (decided.length > KEEP_DECIDED) m.batches = m.batches.filter((b) => b.status === 'open' || decided.indexOf(b) >= decided.length - KEEP_DECIDED);
  const decision: FenceDecision = { batchId: batch.batchId, decision: batch.status as 'released' | 'rejected', operators: batch.decidedBy };
  return { batch: publicBatch(batch), notify: held.map((h) => ({ workflowId: h.workflowId, decision })) };
}

/** A held request whose change no longer needs the permit. */
export function withdraw(m: FenceModel, requestId: string): void {
  const h = m.held.find((x) => x.requestId === requestId);
  if (!h) return;
  m.held = m.held.filter((x) => x !== h);
  const batch = m.batches.find((b) => b.batchId === h.batchId);
  if (batch) batch.requests = Math.max(0, batch.requests - 1);
}

function publicBatch(b: FenceBatch & { scopes?: string[] }): FenceBatch {
  const { scopes: _scopes, ...rest } = b;
  return { ...rest, releasedBy: [...rest.releasedBy] };
}

export function fenceState(m: FenceModel, now: number): FenceState {
  return { windowMs: m.windowMs, inWindow: countsInWindow(m, now), held: m.held, batches: m.batches.map(publicBatch) };
}

/** How many held requests the memo lists: it stays near Temporal's 2 KB memo warning (limit.memoSize.warn); getFenceState lists them all. */
export const MEMO_HELD_LISTED = 10;

/**
 * The fence's memo, what the Temporal UI and `temporal workflow describe` show of it: the open
 * batches and the held requests (the first MEMO_HELD_LISTED with employee id, batch and steps).
 * Sealed by the payload codec like every payload the worker sends (the SDK encodes memo fields
 * too), read in clear through the codec endpoint. Every field is an object or a list, never a bare
 * number: the Temporal UI (2.42) shows a field that decodes to a falsy value (0) as its sealed payload.
 */
export type FenceMemo = {
  openBatches: string[];
  held: {
    requests: number;
    listed: Array<{ employeeId: string; batchId: string; heldAt: string; steps: string[] }>;
    /** Held requests past MEMO_HELD_LISTED. */
    notListed: number;
  };
};

export function fenceMemo(m: FenceModel): FenceMemo {
  const listed = m.held.slice(0, MEMO_HELD_LISTED).map((h) => ({
    employeeId: h.employeeId,
    batchId: h.batchId,
    heldAt: h.heldAt,
    steps: h.steps.map((s) => [s.action, s.app, s.entitlementId].filter(Boolean).join(' ')),
  }));
  return {
    openBatches: m.batches.filter((b) => b.status === 'open').map((b) => b.batchId),
    held: { requests: m.held.length, listed, notListed: m.held.length - listed.length },
  };
}
