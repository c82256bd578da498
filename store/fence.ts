// The fence in the store (docs/architecture.md#fence, migration 008): it holds a burst. Each permit
// ask is one short transaction under an advisory lock per fence (`fence/<taskQueue>`, one per
// deployment): it counts the steps let through in the sliding window per scope, lets the ask
// through or holds it in the open batch (policy/fence-count.ts decides), and writes the answer with
// its audit record; a retried ask (same request id) gets the first answer and writes nothing.
// Operators release or reject a batch, or one person in it (by request id or employee id); each
// decision is written with its audit record, and returns the workflows to signal (`fenceDecision`,
// clients/fence.ts sends them). Reading (`fenceListing`) takes no lock: it answers during a burst.
import { judgePermit, stepsPerScope } from '../policy/fence-count.js';
import { employeeKey, includesEmployee } from '../policy/employee-ids.js';
import { z } from 'zod';
import { employeeIdSchema } from '../schemas/events.js';
import type { FenceBatch, FenceDecision, FenceState, FencedStep, HeldRequest, PermitAnswer, PermitRequest } from '../schemas/fence.js';
import type { AuditEntry } from './audit-record.js';
import { validateEntry } from './audit-chain.js';
import type { Db } from './db.js';
import type { Store, StoreTx } from './store.js';

/** How many reasons a batch keeps. */
const KEEP_REASONS = 20;
/** Rows of `fence_admitted` are kept at least this long (and at least one window). */
const KEEP_ADMITTED_MS = 24 * 3_600_000;

/** A release or reject the fence cannot take (unknown or decided batch, the same operator twice, nobody by that id held). */
export class FenceRefusedError extends Error {
  override readonly name = 'FenceRefusedError';
}

/** The ask, as the asking activity made it: with the source budget it counts against (policy/fencing.ts sourceBudget). */
export type FencePermitAsk = PermitRequest & { fenceId: string; budget: string };

const lock = (tx: StoreTx, fenceId: string) => tx.client.query(`select pg_advisory_xact_lock(hashtextextended(current_schema() || ':fence:' || $1, 0))`, [fenceId]);

type BatchRow = { batch_id: string; status: FenceBatch['status']; opened_at: Date; reasons: string[]; scopes: string[]; releases_required: number; released_by: string[]; decided_by: string[] | null; decided_at: Date | null };

const BATCH_COLUMNS = 'batch_id, status, opened_at, reasons, scopes, releases_required, released_by, decided_by, decided_at';

function batchOf(row: BatchRow, requests: number): FenceBatch {
  return {
    batchId: row.batch_id,
    status: row.status,
    openedAt: row.opened_at.toISOString(),
    reasons: row.reasons,
    releasesRequired: row.releases_required,
    releasedBy: row.released_by,
    ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
    ...(row.decided_at ? { decidedAt: row.decided_at.toISOString() } : {}),
    requests,
  };
}

/**
 * Decides a group of asks of one fence in one transaction, in order: each is counted, let through
 * or held as if it were alone (the counts and the open batch carry from one to the next). The first
 * answer to a request id is the answer (`repeated`: nothing is written for it).
 */
async function decidePermits(tx: StoreTx, fenceId: string, asks: readonly FencePermitAsk[]): Promise<Array<{ answer: PermitAnswer; repeated: boolean }>> {
  await lock(tx, fenceId);
  const ids = asks.map((a) => a.requestId);
  const prior = new Map((await tx.client.query<{ request_id: string; answer: PermitAnswer }>('select request_id, answer from fence_requests where fence_id = $1 and request_id = any($2)', [fenceId, ids])).rows.map((r) => [r.request_id, r.answer]));
  const windowMs = asks[asks.length - 1]!.windowMs;
  await tx.client.query(`insert into fence_counters (fence_id, window_ms) values ($1, $2) on conflict (fence_id) do update set window_ms = excluded.window_ms`, [fenceId, windowMs]);
  const needs = asks.map((a) => stepsPerScope(a.budget, a.steps));
  const keys = [...new Set(needs.flatMap((n) => Object.keys(n)))];
  const counted = await tx.client.query<{ scope_key: string; n: string }>(
    `select scope_key, sum(steps) as n from fence_admitted
      where fence_id = $1 and scope_key = any($2) and at > clock_timestamp() - $3 * interval '1 millisecond'
      group by scope_key`,
    [fenceId, keys, windowMs],
  );
  const inWindow: Record<string, number> = Object.fromEntries(counted.rows.map((r) => [r.scope_key, Number(r.n)]));
  const openRow = (await tx.client.query<BatchRow>(`select ${BATCH_COLUMNS} from fence_batches where fence_id = $1 and status = 'open'`, [fenceId])).rows[0];
  let open: { batchId: string; scopes: string[]; reasons: string[]; releasesRequired: number; changed: boolean } | undefined = openRow
    ? { batchId: openRow.batch_id, scopes: [...openRow.scopes], reasons: [...openRow.reasons], releasesRequired: openRow.releases_required, changed: false }
    : undefined;
  const admitted: Array<{ key: string; n: number; requestId: string }> = [];
  const written: FencePermitAsk[] = [];
  const writtenAnswers: PermitAnswer[] = [];
  const out: Array<{ answer: PermitAnswer; repeated: boolean }> = [];
  for (const [i, ask] of asks.entries()) {
    const first = prior.get(ask.requestId);
    if (first) {
      out.push({ answer: first, repeated: true });
      continue;
    }
    const need = needs[i]!;
    const judged = judgePermit({ inWindow, need, limits: ask.limits, windowMs: ask.windowMs, ...(open ? { open } : {}) });
    let answer: PermitAnswer;
    if (judged.permit === 'allowed') {
      for (const [key, n] of Object.entries(need)) {
        inWindow[key] = (inWindow[key] ?? 0) + n;
        admitted.push({ key, n, requestId: ask.requestId });
      }
      answer = { permit: 'allowed' };
    } else {
      if (!open) open = { batchId: await openBatch(tx, fenceId, ask.releasesRequired), scopes: [], reasons: [], releasesRequired: ask.releasesRequired, changed: true };
      const scopes = judged.tripped.filter((key) => !open!.scopes.includes(key));
      const reasons = judged.tripped.length === 0 ? [] : judged.reasons.filter((r) => !open!.reasons.includes(r)).slice(0, Math.max(0, KEEP_REASONS - open.reasons.length));
      if (scopes.length > 0 || reasons.length > 0 || ask.releasesRequired > open.releasesRequired) {
        open.scopes.push(...scopes);
        open.reasons.push(...reasons);
        open.releasesRequired = Math.max(open.releasesRequired, ask.releasesRequired);
        open.changed = true;
      }
      answer = { permit: 'held', batchId: open.batchId, reasons: judged.reasons };
    }
    prior.set(ask.requestId, answer);
    written.push(ask);
    writtenAnswers.push(answer);
    out.push({ answer, repeated: false });
  }
  if (open?.changed) {
    await tx.client.query(`update fence_batches set scopes = $3, reasons = $4, releases_required = $5 where fence_id = $1 and batch_id = $2`, [fenceId, open.batchId, open.scopes, JSON.stringify(open.reasons), open.releasesRequired]);
  }
  if (admitted.length > 0) {
    await tx.client.query(
      `insert into fence_admitted (fence_id, scope_key, at, steps, request_id) select $1, k, clock_timestamp(), n, r from unnest($2::text[], $3::int[], $4::text[]) as t(k, n, r)`,
      [fenceId, admitted.map((a) => a.key), admitted.map((a) => a.n), admitted.map((a) => a.requestId)],
    );
    await forgetOldCounts(tx, fenceId);
  }
  if (written.length > 0) {
    await tx.client.query(
      `insert into fence_requests (fence_id, request_id, workflow_id, employee_id, source, budget, steps, answer, status, batch_id)
       select $1, r, w, e, s, b, st::jsonb, an::jsonb, stt, bt from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) as t(r, w, e, s, b, st, an, stt, bt)`,
      [
        fenceId,
        written.map((a) => a.requestId),
        written.map((a) => a.workflowId),
        written.map((a) => a.employeeId),
        written.map((a) => a.source),
        written.map((a) => a.budget),
        written.map((a) => JSON.stringify(a.steps)),
        writtenAnswers.map((a) => JSON.stringify(a)),
        writtenAnswers.map((a) => a.permit),
        writtenAnswers.map((a) => (a.permit === 'held' ? a.batchId : null)),
      ],
    );
  }
  return out;
}

async function openBatch(tx: StoreTx, fenceId: string, releasesRequired: number): Promise<string> {
  const { rows } = await tx.client.query<{ n: number }>('update fence_counters set next_batch = next_batch + 1 where fence_id = $1 returning next_batch - 1 as n', [fenceId]);
  const batchId = `batch-${rows[0]!.n}`;
  await tx.client.query(`insert into fence_batches (fence_id, batch_id, status, releases_required) values ($1, $2, 'open', $3)`, [fenceId, batchId, releasesRequired]);
  return batchId;
}

/** Counts steps let through (released people) in the window. */
async function admit(tx: StoreTx, fenceId: string, need: Record<string, number>, requestId: string): Promise<void> {
  const keys = Object.keys(need);
  if (keys.length === 0) return;
  await tx.client.query(
    `insert into fence_admitted (fence_id, scope_key, at, steps, request_id) select $1, k, clock_timestamp(), n, $4 from unnest($2::text[], $3::int[]) as t(k, n)`,
    [fenceId, keys, keys.map((k) => need[k]!), requestId],
  );
  await forgetOldCounts(tx, fenceId);
}

/** Forgets what left every window long ago. */
async function forgetOldCounts(tx: StoreTx, fenceId: string): Promise<void> {
  await tx.client.query(
    `delete from fence_admitted where fence_id = $1 and at < clock_timestamp() - greatest((select window_ms from fence_counters where fence_id = $1), $2) * interval '1 millisecond'`,
    [fenceId, KEEP_ADMITTED_MS],
  );
}

function permitAudit(ask: FencePermitAsk, answer: PermitAnswer): AuditEntry {
  const outcome = answer.permit;
  const what = `${ask.steps.length} fenced step(s) from source ${ask.source} (budget ${ask.budget})`;
  return {
    actor: { type: 'system', id: 'fence' },
    action: answer.permit === 'allowed' ? 'fence.permit.allowed' : 'fence.permit.held',
    reason: (answer.permit === 'allowed' ? `allowed: ${what}` : `held in ${answer.batchId}: ${what}; ${answer.reasons.join('; ')}`).slice(0, 2000),
    // A reconciliation's orphans belong to nobody the store knows: its ask names the application (`reconcile/<app>`), not a person.
    ...(employeeIdSchema.safeParse(ask.employeeId).success ? { subject: { employeeId: ask.employeeId } } : {}),
    workflowId: ask.workflowId,
    changes: ask.steps.slice(0, 1000).map((s) => ({ op: `fence.${s.action}`, app: s.app, ...(s.entitlementId ? { entitlement: s.entitlementId } : {}), outcome })),
  };
}

type PendingAsk = { ask: FencePermitAsk; resolve: (a: PermitAnswer) => void; reject: (err: unknown) => void };
/** Asks waiting for the transaction in flight, per store and fence (group commit). */
const queues = new WeakMap<Store, Map<string, { pending: PendingAsk[]; flushing: boolean }>>();
const MAX_GROUP = 200;

/**
 * Asks the fence for a permit, audited; a retried ask gets the first answer and writes nothing.
 * Asks are decided one fence transaction at a time, so while one is written the asks arriving in
 * this process queue up and the next transaction decides them all, in order, under one lock
 * (group commit: a burst of thousands costs a few hundred transactions, not thousands). A group
 * that fails is decided again one ask at a time, so one ask's trouble fails only that ask.
 */
export function askFencePermit(store: Store, ask: FencePermitAsk): Promise<PermitAnswer> {
  if (ask.steps.length === 0) return Promise.resolve({ permit: 'allowed' });
  validateEntry(permitAudit(ask, { permit: 'allowed' }));
  let byFence = queues.get(store);
  if (!byFence) queues.set(store, (byFence = new Map()));
  let q = byFence.get(ask.fenceId);
  if (!q) byFence.set(ask.fenceId, (q = { pending: [], flushing: false }));
  const queue = q;
  return new Promise<PermitAnswer>((resolve, reject) => {
    queue.pending.push({ ask, resolve, reject });
    if (!queue.flushing) void flushAsks(store, ask.fenceId, queue);
  });
}

async function decideGroup(store: Store, fenceId: string, group: PendingAsk[]): Promise<void> {
  const asks = group.map((p) => p.ask);
  const { result } = await store.changeMany(
    (tx) => decidePermits(tx, fenceId, asks),
    (answers) => answers.flatMap((r, i) => (r.repeated ? [] : [permitAudit(asks[i]!, r.answer)])),
  );
  group.forEach((p, i) => p.resolve(result[i]!.answer));
}

async function flushAsks(store: Store, fenceId: string, queue: { pending: PendingAsk[]; flushing: boolean }): Promise<void> {
  queue.flushing = true;
  try {
    while (queue.pending.length > 0) {
      // One window per transaction: asks made under another policy's window wait for the next.
      const windowMs = queue.pending[0]!.ask.windowMs;
      const other = queue.pending.findIndex((p) => p.ask.windowMs !== windowMs);
      const n = Math.min(MAX_GROUP, other === -1 ? queue.pending.length : other);
      const group = queue.pending.splice(0, n);
      try {
        await decideGroup(store, fenceId, group);
      } catch (err) {
        if (group.length === 1) group[0]!.reject(err);
        else for (const p of group) await decideGroup(store, fenceId, [p]).catch((e: unknown) => p.reject(e));
      }
    }
  } finally {
    queue.flushing = false;
  }
}

/** Who a single-person decision is about: a request id, or an employee id (any letter case) held in the batch. */
export type FencePerson = { requestId: string } | { employeeId: string };

export type FenceDecisionInput = { fenceId: string; kind: 'release' | 'reject'; batchId: string; operator: string; person?: FencePerson };

/** What a decision did: the batch after it, the people it decided, and the workflows to tell (`fenceDecision`). */
export type FenceDecided = { batch: FenceBatch; decided: Array<{ requestId: string; employeeId: string; decision: 'released' | 'rejected' }>; notify: Array<{ workflowId: string; decision: FenceDecision }> };

type HeldRow = { request_id: string; workflow_id: string; employee_id: string; budget: string; steps: FencedStep[]; released_by: string[] };

async function decide(tx: StoreTx, d: FenceDecisionInput): Promise<FenceDecided> {
  if (typeof d.operator !== 'string' || d.operator.trim() === '') throw new FenceRefusedError('an operator id is required');
  await lock(tx, d.fenceId);
  const row = (await tx.client.query<BatchRow>(`select ${BATCH_COLUMNS} from fence_batches where fence_id = $1 and batch_id = $2`, [d.fenceId, d.batchId])).rows[0];
  if (!row) throw new FenceRefusedError(`no batch ${d.batchId}`);
  if (row.status !== 'open') throw new FenceRefusedError(`batch ${d.batchId} was already ${row.status}`);
  const heldAll = (await tx.client.query<HeldRow>(`select request_id, workflow_id, employee_id, budget, steps, released_by from fence_requests where fence_id = $1 and batch_id = $2 and status = 'held' order by asked_at`, [d.fenceId, d.batchId])).rows;
  let held = heldAll;
  if (d.person) {
    const p = d.person;
    held = 'requestId' in p ? heldAll.filter((h) => h.request_id === p.requestId) : heldAll.filter((h) => employeeKey(h.employee_id) === employeeKey(p.employeeId));
    if (held.length === 0) throw new FenceRefusedError(`${'requestId' in p ? `request ${p.requestId}` : `employee ${p.employeeId}`} is not held in batch ${d.batchId}`);
  }
  const decided: FenceDecided['decided'] = [];
  const notify: FenceDecided['notify'] = [];
  const settle = async (rows: HeldRow[], decision: 'released' | 'rejected', operators: string[]) => {
    if (rows.length === 0) return;
    await tx.client.query(
      `update fence_requests set status = $3, decided_by = $4, decided_at = clock_timestamp() where fence_id = $1 and request_id = any($2) and status = 'held'`,
      [d.fenceId, rows.map((h) => h.request_id), decision, operators],
    );
    if (decision === 'released') {
      // Released steps run now: they count in the window like any other.
      const need: Record<string, number> = {};
      for (const h of rows) for (const [k, n] of Object.entries(stepsPerScope(h.budget, h.steps))) need[k] = (need[k] ?? 0) + n;
      await admit(tx, d.fenceId, need, `${d.batchId}/released`);
    }
    for (const h of rows) {
      decided.push({ requestId: h.request_id, employeeId: h.employee_id, decision });
      notify.push({ workflowId: h.workflow_id, decision: { batchId: d.batchId, decision, operators, requestId: h.request_id } });
    }
  };

  let batchRow = row;
  if (d.kind === 'reject') {
    if (d.person) await settle(held, 'rejected', [d.operator]);
    else {
      await settle(heldAll, 'rejected', [d.operator]);
      batchRow = await closeBatch(tx, d.fenceId, d.batchId, 'rejected', [d.operator]);
    }
  } else if (d.person) {
    // One person: this operator's release counts with the batch's; the same person twice is refused.
    for (const h of held) if (includesEmployee([...row.released_by, ...h.released_by], d.operator)) throw new FenceRefusedError(`${d.operator} already released ${h.employee_id} in batch ${d.batchId}: it needs another operator`);
    await tx.client.query(`update fence_requests set released_by = released_by || $3::text where fence_id = $1 and request_id = any($2)`, [d.fenceId, held.map((h) => h.request_id), d.operator]);
    for (const h of held) {
      const by = distinctOperators([...row.released_by, ...h.released_by, d.operator]);
      if (by.length >= row.releases_required) await settle([h], 'released', by);
    }
  } else {
    if (includesEmployee(row.released_by, d.operator)) throw new FenceRefusedError(`${d.operator} already released batch ${d.batchId}: it needs another operator`);
    const releasedBy = [...row.released_by, d.operator];
    batchRow = (await tx.client.query<BatchRow>(`update fence_batches set released_by = $3 where fence_id = $1 and batch_id = $2 returning ${BATCH_COLUMNS}`, [d.fenceId, d.batchId, releasedBy])).rows[0]!;
    if (releasedBy.length >= row.releases_required) {
      await settle(heldAll, 'released', releasedBy);
      batchRow = await closeBatch(tx, d.fenceId, d.batchId, 'released', releasedBy);
    } else {
      // People whose own releases complete the count with this one's go now.
      for (const h of heldAll) {
        const by = distinctOperators([...releasedBy, ...h.released_by]);
        if (by.length >= row.releases_required) await settle([h], 'released', by);
      }
    }
  }
  const requests = batchRow.status === 'open' ? heldAll.length - decided.length : heldAll.length;
  return { batch: batchOf(batchRow, requests), decided, notify };
}

function distinctOperators(ids: string[]): string[] {
  const out: string[] = [];
  for (const id of ids) if (!includesEmployee(out, id)) out.push(id);
  return out;
}

async function closeBatch(tx: StoreTx, fenceId: string, batchId: string, status: 'released' | 'rejected', by: string[]): Promise<BatchRow> {
  const { rows } = await tx.client.query<BatchRow>(
    `update fence_batches set status = $3, decided_by = $4, decided_at = clock_timestamp() where fence_id = $1 and batch_id = $2 returning ${BATCH_COLUMNS}`,
    [fenceId, batchId, status, by],
  );
  return rows[0]!;
}

function decisionAudit(d: FenceDecisionInput, r: FenceDecided): AuditEntry {
  const released = r.decided.filter((x) => x.decision === 'released').length;
  const rejected = r.decided.length - released;
  const who = d.person ? ('requestId' in d.person ? `request ${d.person.requestId}` : 'one person') : 'the batch';
  const action = d.kind === 'reject' ? 'fence.rejected' : released > 0 ? 'fence.released' : 'fence.release.recorded';
  const pending = d.kind === 'release' && released === 0 ? `; release recorded, ${r.batch.releasesRequired} operator(s) required` : '';
  return {
    actor: { type: 'person', employeeId: d.operator },
    action,
    reason: `${d.kind} of ${who} in ${d.batchId}: ${released} released, ${rejected} rejected; batch ${r.batch.status}${pending}`,
    ...(d.person && r.decided.length <= 1 && 'employeeId' in d.person ? { subject: { employeeId: r.decided[0]?.employeeId ?? d.person.employeeId } } : {}),
    changes: [{ op: `fence.${d.kind}`, outcome: r.batch.status === 'open' ? (r.decided.length > 0 ? r.decided[0]!.decision : 'recorded') : r.batch.status }],
  };
}

/** Releases or rejects a batch or one person in it, with its audit record, in one transaction. Refusals throw FenceRefusedError (nothing written). */
export async function decideFence(store: Store, d: FenceDecisionInput): Promise<FenceDecided> {
  const { result } = await store.change((tx) => decide(tx, d), (r) => decisionAudit(d, r));
  return result;
}

/** A held ask whose change no longer needs the permit (superseded by a termination): it leaves its batch. */
export async function withdrawFencePermit(store: Store, input: { fenceId: string; requestId: string; employeeId: string }): Promise<boolean> {
  const { result } = await store.change(
    async (tx) => {
      await lock(tx, input.fenceId);
      const { rowCount } = await tx.client.query(`update fence_requests set status = 'withdrawn', decided_at = clock_timestamp() where fence_id = $1 and request_id = $2 and status = 'held'`, [input.fenceId, input.requestId]);
      return (rowCount ?? 0) > 0;
    },
    (withdrawn) => (withdrawn ? { actor: { type: 'system', id: 'fence' }, action: 'fence.permit.withdrawn', reason: 'a held change was superseded: it no longer needs its permit', subject: { employeeId: input.employeeId }, changes: [{ op: 'fence.withdraw', outcome: 'withdrawn' }] } : null),
  );
  return result;
}

/** How many asks of one source wait for a release now (a policy rollout's people held by the fence). */
export async function heldCountBySource(db: Db, fenceId: string, source: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`select count(*) as n from fence_requests where fence_id = $1 and status = 'held' and source = $2`, [fenceId, source]);
  return Number(rows[0]?.n ?? 0);
}

/** A decided ask's row, as the store holds it (validated: a workflow acts on it). */
const decidedRowSchema = z.object({
  status: z.enum(['released', 'rejected']),
  batch_id: z.string().min(1),
  decided_by: z.array(z.string()).nullable(),
});

/**
 * An ask's decision by request id, as the `fenceDecision` signal carries it; undefined while it is
 * held (or was never held, or was withdrawn). A held workflow reads it on a timer, so a lost
 * signal never holds a person forever.
 */
export async function fenceRequestDecision(db: Db, input: { fenceId: string; requestId: string }): Promise<FenceDecision | undefined> {
  const { rows } = await db.query(`select status, batch_id, decided_by from fence_requests where fence_id = $1 and request_id = $2 and status in ('released', 'rejected')`, [input.fenceId, input.requestId]);
  if (rows.length === 0) return undefined;
  const row = decidedRowSchema.parse(rows[0]);
  return { batchId: row.batch_id, decision: row.status, operators: row.decided_by ?? [], requestId: input.requestId };
}

/** The fence as operators see it: counts in the window, who is held (the first `limit`), open and recent batches. No lock: it answers during a burst. */
export async function fenceListing(db: Db, fenceId: string, options: { limit?: number; recentDecided?: number } = {}): Promise<FenceState | undefined> {
  const limit = options.limit ?? 2_000;
  const counter = (await db.query<{ window_ms: string }>('select window_ms from fence_counters where fence_id = $1', [fenceId])).rows[0];
  if (!counter) return undefined;
  const windowMs = Number(counter.window_ms);
  const [counts, held, batches] = await Promise.all([
    db.query<{ scope_key: string; n: string }>(
      `select scope_key, sum(steps) as n from fence_admitted where fence_id = $1 and at > clock_timestamp() - $2 * interval '1 millisecond' group by scope_key order by scope_key`,
      [fenceId, windowMs],
    ),
    db.query<HeldRow & { batch_id: string; source: string; asked_at: Date; total: string }>(
      `select request_id, batch_id, workflow_id, employee_id, source, budget, steps, released_by, asked_at, count(*) over () as total
         from fence_requests where fence_id = $1 and status = 'held' order by asked_at, request_id limit $2`,
      [fenceId, limit],
    ),
    db.query<BatchRow & { requests: string }>(
      `select ${BATCH_COLUMNS.split(', ').map((c) => `b.${c}`).join(', ')},
              (select count(*) from fence_requests r where r.fence_id = b.fence_id and r.batch_id = b.batch_id and (b.status <> 'open' or r.status = 'held')) as requests
         from (select * from fence_batches where fence_id = $1 and status = 'open'
               union all (select * from fence_batches where fence_id = $1 and status <> 'open' order by decided_at desc limit $2)) b
        order by b.opened_at`,
      [fenceId, options.recentDecided ?? 5],
    ),
  ]);
  const total = Number(held.rows[0]?.total ?? 0);
  const heldList: HeldRequest[] = held.rows.map((h) => ({
    requestId: h.request_id,
    batchId: h.batch_id,
    workflowId: h.workflow_id,
    employeeId: h.employee_id,
    source: h.source,
    steps: h.steps,
    heldAt: h.asked_at.toISOString(),
    ...(h.released_by.length > 0 ? { releasedBy: h.released_by } : {}),
  }));
  return {
    windowMs,
    inWindow: Object.fromEntries(counts.rows.map((r) => [r.scope_key, Number(r.n)])),
    held: heldList,
    batches: batches.rows.map((b) => batchOf(b, Number(b.requests))),
    ...(total > heldList.length ? { notListed: total - heldList.length } : {}),
  };
}
