// Appending to the audit chain. Each record's canonical body names its predecessor's hash, is
// hashed (SHA-256) and signed (Ed25519). Appends serialise on the chain's head row: the lock is
// taken as the last step of the caller's transaction and held until it commits, so two writers
// can never both extend the same head (no fork), and records become visible in seq order (which
// is what lets the Kafka publisher use the chain itself as its outbox).
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { canonicalize } from './canonical-json.js';
import { ensurePersons, personKey, sealJson, type Person } from './person-keys.js';
import type { AuditSigner } from './signing.js';
import type { KeyEncryptionKeys } from './store-keys.js';
import {
  appsOf,
  auditEntrySchema,
  TIMESTAMP_SQL,
  type AppendedRecord,
  type AuditEntry,
  type RecordBody,
  type SealedPart,
} from './audit-record.js';

export type AuditContext = { signer: AuditSigner | undefined; kek: KeyEncryptionKeys | undefined };

export const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
}

type ParsedEntry = ReturnType<typeof auditEntrySchema.parse>;

/** An entry made ready for the chain: validated, people resolved to pseudonyms, personal data sealed. */
type PreparedEntry = {
  recordId: string;
  actor: string;
  action: string;
  reason: string;
  policyVersion: string | null;
  subject: string | null;
  /** Whether the subject still exists (a dedupe row may then reference them). */
  subjectExists: boolean;
  changes: RecordBody['changes'];
  context: RecordBody['context'];
  sealed: string | null;
  digest: Buffer | undefined;
};

/** Validates an entry without touching the database: a malformed entry fails here, before any batch. */
export function validateEntry(entry: AuditEntry): void {
  auditEntrySchema.parse(entry);
}

async function prepareEntry(client: pg.PoolClient, ctx: AuditContext, input: ParsedEntry, persons: Map<string, Person>): Promise<PreparedEntry> {
  const recordId = randomUUID();
  const accounts = input.changes.map((c) => c.account ?? null);
  const hasAccounts = accounts.some((a) => a !== null);
  const subjectEmployeeId = input.subject && 'employeeId' in input.subject ? input.subject.employeeId : undefined;
  const part: SealedPart = {
    ...(subjectEmployeeId ? { employeeId: subjectEmployeeId } : {}),
    ...(input.eventId ? { eventId: input.eventId } : {}),
    ...(input.workflowId ? { workflowId: input.workflowId } : {}),
    ...(hasAccounts ? { accounts } : {}),
    ...(input.personal ? { personal: input.personal } : {}),
  };
  const hasSealedContent = Object.keys(part).length > 0;
  let subject: { personId: string; key: Buffer | undefined } | undefined;
  if (subjectEmployeeId) {
    subject = persons.get(subjectEmployeeId)!;
  } else if (input.subject && 'personId' in input.subject) {
    const personId = input.subject.personId;
    subject = { personId, key: hasSealedContent ? await personKey(client, ctx.kek, personId) : undefined };
  }
  const actor = input.actor.type === 'person'
    ? `person:${persons.get(input.actor.employeeId)!.personId}`
    : `${input.actor.type}:${input.actor.id}`;
  const known = [subjectEmployeeId, input.actor.type === 'person' ? input.actor.employeeId : undefined].filter((x): x is string => !!x);
  refuseNamesInClear(known, [input.reason, input.action, input.policyVersion, ...input.changes.flatMap((c) => [c.op, c.app, c.entitlement, c.outcome, ...(c.fields ?? [])])]);

  let sealed: string | null = null;
  if (subject && hasSealedContent) {
    if (!subject.key) throw new TypeError(`audit: the subject ${subject.personId} was purged; a record about them can carry no personal data, event or workflow id`);
    sealed = sealJson(subject as Person, `audit:${recordId}`, part).toString('base64');
  } else if (!subject && (hasAccounts || input.personal)) {
    throw new TypeError('audit: account references and personal attributes need a subject, whose key seals them');
  }
  return {
    recordId,
    actor,
    action: input.action,
    reason: input.reason,
    policyVersion: input.policyVersion ?? null,
    subject: subject?.personId ?? null,
    subjectExists: subjectEmployeeId !== undefined || subject?.key !== undefined,
    changes: input.changes.map(({ account: _sealed, ...clear }) => clear),
    context: subject ? null : { eventId: input.eventId ?? null, workflowId: input.workflowId ?? null },
    sealed,
    digest: input.idempotencyKey ? createHash('sha256').update(input.idempotencyKey).digest() : undefined,
  };
}

/**
 * Appends one record inside the caller's transaction (which must commit for the record to exist,
 * and whose other changes therefore never exist without it). Call it last in the transaction:
 * from here to commit the chain is locked for everyone else.
 */
export async function appendAuditRecord(client: pg.PoolClient, ctx: AuditContext, entry: AuditEntry): Promise<AppendedRecord> {
  return (await appendAuditRecords(client, ctx, [entry]))[0]!;
}

/**
 * Appends several records, in order, under one acquisition of the head lock (group commit: the
 * batcher in audit-batcher.ts gathers concurrent appends into one transaction).
 */
export async function appendAuditRecords(client: pg.PoolClient, ctx: AuditContext, entries: AuditEntry[]): Promise<AppendedRecord[]> {
  if (!ctx.signer) throw new AuditUnavailableError('no audit signing key: set PROVISIONER_AUDIT_SIGNING_KEY or PROVISIONER_AUDIT_SIGNING_KEY_FILE');
  const signer = ctx.signer;
  // Everything that does not depend on the head happens before taking its lock, to keep it short.
  const inputs = entries.map((e) => auditEntrySchema.parse(e));
  const persons = await ensurePersons(client, ctx.kek, inputs.flatMap((i) => [
    ...(i.subject && 'employeeId' in i.subject ? [i.subject.employeeId] : []),
    ...(i.actor.type === 'person' ? [i.actor.employeeId] : []),
  ]));
  const prepared: PreparedEntry[] = [];
  for (const input of inputs) prepared.push(await prepareEntry(client, ctx, input, persons));

  // Named statements: prepared once per connection, so the hot path skips parsing and planning.
  const head = await client.query<{ chain_id: string; seq: string; hash: string; now: string }>({
    name: 'audit-lock-head',
    text: `select chain_id, seq, hash, to_char(clock_timestamp() at time zone 'UTC', ${TIMESTAMP_SQL}) as now from audit_head for update`,
  });
  const row = head.rows[0];
  if (!row) throw new AuditUnavailableError('the audit chain has no head row: is the store migrated?');

  const digests = prepared.flatMap((p) => (p.digest ? [p.digest] : []));
  const existing = new Map<string, AppendedRecord>();
  if (digests.length > 0) {
    const found = await client.query<{ key_digest: Buffer; seq: string; record_id: string; hash: string; at: string }>(
      `select d.key_digest, r.seq, r.record_id, r.hash, to_char(r.recorded_at at time zone 'UTC', ${TIMESTAMP_SQL}) as at
         from audit_dedupe d join audit_records r using (seq) where d.key_digest = any($1::bytea[])`,
      [digests],
    );
    for (const f of found.rows) existing.set(f.key_digest.toString('hex'), { seq: Number(f.seq), recordId: f.record_id, hash: f.hash, at: f.at, deduplicated: true });
  }

  let seq = Number(row.seq);
  let prev = row.hash;
  const results: AppendedRecord[] = [];
  const rows: Array<{ seq: number; p: PreparedEntry; hash: string; canonical: string; signature: string }> = [];
  for (const p of prepared) {
    const seen = p.digest ? existing.get(p.digest.toString('hex')) : undefined;
    if (seen) {
      results.push(seen);
      continue;
    }
    seq += 1;
    const body: RecordBody = {
      v: 1,
      chain: row.chain_id,
      seq,
      id: p.recordId,
      prev,
      at: row.now,
      keyId: signer.keyId,
      actor: p.actor,
      action: p.action,
      reason: p.reason,
      policyVersion: p.policyVersion,
      subject: p.subject,
      changes: p.changes,
      context: p.context,
      sealed: p.sealed,
    };
    const canonical = canonicalize(body);
    const hash = sha256(canonical);
    const appended: AppendedRecord = { seq, recordId: p.recordId, hash, at: row.now, deduplicated: false };
    rows.push({ seq, p, hash, canonical, signature: signer.sign('record', hash) });
    results.push(appended);
    // A repeat of the same key later in this very batch gets this record.
    if (p.digest) existing.set(p.digest.toString('hex'), { ...appended, deduplicated: true });
    prev = hash;
  }
  if (rows.length === 0) return results;

  // One round trip for the records and the new head, whatever the batch size (arrays, not SQL text).
  await client.query({
    name: 'audit-insert-records',
    text: `with records as (
             insert into audit_records (seq, record_id, hash, body, signature, recorded_at, actor, action, subject, apps)
             select r.seq, r.record_id, r.hash, r.body, r.signature, $6::timestamptz, r.actor, r.action, r.subject,
                    array(select jsonb_array_elements_text(r.apps))
               from unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], $7::text[], $8::text[], $9::uuid[], $10::jsonb[])
                 as r(seq, record_id, hash, body, signature, actor, action, subject, apps)
             returning seq
           )
           update audit_head set seq = $11, hash = $12 where exists (select 1 from records)`,
    values: [
      rows.map((r) => r.seq), rows.map((r) => r.p.recordId), rows.map((r) => r.hash), rows.map((r) => r.canonical), rows.map((r) => r.signature),
      row.now, rows.map((r) => r.p.actor), rows.map((r) => r.p.action), rows.map((r) => r.p.subject), rows.map((r) => JSON.stringify(appsOf(r.p.changes))),
      seq, prev,
    ],
  });
  const dedupe = rows.filter((r) => r.p.digest);
  if (dedupe.length > 0) {
    await client.query(
      'insert into audit_dedupe (key_digest, seq, person_id) select * from unnest($1::bytea[], $2::bigint[], $3::uuid[])',
      [dedupe.map((r) => r.p.digest!), dedupe.map((r) => r.seq), dedupe.map((r) => (r.p.subjectExists ? r.p.subject : null))],
    );
  }
  return results;
}

/** A programmer error to catch in tests: clear fields that name the people the record pseudonymises. */
function refuseNamesInClear(employeeIds: string[], fields: Array<string | undefined>): void {
  for (const id of employeeIds) {
    const pattern = new RegExp(`(^|[^A-Za-z0-9])${id.replace(/[.]/g, '\\.')}($|[^A-Za-z0-9])`);
    if (fields.some((f) => f !== undefined && pattern.test(f))) {
      throw new TypeError('audit: a clear field (reason, action or changes) names a person the record pseudonymises; put it in `personal`');
    }
  }
}
