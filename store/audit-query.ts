// Reading the audit trail back: by employee, application, actor and time range. Records name people
// by pseudonym; with the key-encryption key configured, the sealed part is opened (employee id,
// event and workflow ids, account references, personal attributes) unless the person was purged.
import { z } from 'zod';
import { RECORD_COLUMNS, recordBodySchema, recordRowSchema, sealedPartSchema, type SealedPart } from './audit-record.js';
import type { Db } from './db.js';
import { findPersonId, openJson, personKey } from './person-keys.js';
import type { KeyEncryptionKeys } from './store-keys.js';
import { DecryptionError } from '../crypto/aes-gcm.js';

export type AuditQuery = {
  employeeId?: string;
  app?: string;
  /** One action, e.g. `request.received`. */
  action?: string;
  /** An employee id, or `system:<name>` / `service:<name>`. */
  actor?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  /** Newest first (default) or oldest first. */
  order?: 'asc' | 'desc';
};

export type AuditRow = {
  seq: number;
  recordId: string;
  at: string;
  actor: string;
  /** The acting person's employee id, when the actor is a person the store still knows. */
  actorEmployeeId?: string;
  action: string;
  reason: string;
  policyVersion: string | null;
  /** The subject's pseudonym. */
  subject: string | null;
  /** What the sealed part says, when it could be opened. */
  subjectEmployeeId?: string;
  /** The sealed part exists but its key is gone (purged) or not configured here. */
  sealedUnreadable: boolean;
  eventId: string | null;
  workflowId: string | null;
  changes: Array<{ op: string; app?: string; entitlement?: string; outcome?: string; fields?: string[]; account?: string | null }>;
  personal?: Record<string, unknown>;
  hash: string;
};

export async function queryAudit(db: Db, kek: KeyEncryptionKeys | undefined, query: AuditQuery = {}): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.employeeId) {
    const personId = await findPersonId(db, query.employeeId);
    if (!personId) return [];
    where.push(`subject = ${param(personId)}`);
  }
  if (query.actor) {
    if (/^(system|service|person):/.test(query.actor)) {
      where.push(`actor = ${param(query.actor)}`);
    } else {
      const personId = await findPersonId(db, query.actor);
      if (!personId) return [];
      where.push(`actor = ${param(`person:${personId}`)}`);
    }
  }
  if (query.app) where.push(`apps @> array[${param(query.app)}]::text[]`);
  if (query.action) where.push(`action = ${param(query.action)}`);
  if (query.from) where.push(`recorded_at >= ${param(query.from)}`);
  if (query.to) where.push(`recorded_at < ${param(query.to)}`);
  const limit = z.number().int().min(1).max(100_000).parse(query.limit ?? 100);
  const { rows } = await db.query(
    `select ${RECORD_COLUMNS} from audit_records ${where.length ? `where ${where.join(' and ')}` : ''}
      order by seq ${query.order === 'asc' ? 'asc' : 'desc'} limit ${param(limit)}`,
    params,
  );

  const keys = new Map<string, Buffer | undefined>();
  const keyOf = async (personId: string): Promise<Buffer | undefined> => {
    if (!kek) return undefined;
    if (!keys.has(personId)) keys.set(personId, await personKey(db, kek, personId));
    return keys.get(personId);
  };
  const actorIds = [...new Set(rows.map((r) => String(r.actor)).filter((a) => a.startsWith('person:')).map((a) => a.slice('person:'.length)))];
  const actorNames = new Map<string, string>();
  if (actorIds.length > 0) {
    const found = await db.query<{ person_id: string; employee_id: string }>('select person_id, employee_id from identities where person_id = any($1::uuid[])', [actorIds]);
    for (const r of found.rows) actorNames.set(r.person_id, r.employee_id);
  }

  const out: AuditRow[] = [];
  for (const raw of rows) {
    // Read back through the same schemas as verification: a malformed row is an error, not a guess.
    const row = recordRowSchema.parse(raw);
    const body = recordBodySchema.parse(JSON.parse(row.body));
    let sealed: SealedPart | undefined;
    if (body.sealed && body.subject) {
      const key = await keyOf(body.subject);
      if (key) {
        try {
          sealed = sealedPartSchema.parse(openJson({ personId: body.subject, key }, `audit:${body.id}`, Buffer.from(body.sealed, 'base64')));
        } catch (err) {
          if (!(err instanceof DecryptionError)) throw err;
        }
      }
    }
    const actorEmployeeId = body.actor.startsWith('person:') ? actorNames.get(body.actor.slice('person:'.length)) : undefined;
    out.push({
      seq: row.seq,
      recordId: row.record_id,
      at: body.at,
      actor: body.actor,
      ...(actorEmployeeId ? { actorEmployeeId } : {}),
      action: body.action,
      reason: body.reason,
      policyVersion: body.policyVersion,
      subject: body.subject,
      ...(sealed?.employeeId ? { subjectEmployeeId: sealed.employeeId } : {}),
      sealedUnreadable: body.sealed !== null && sealed === undefined,
      eventId: body.context?.eventId ?? sealed?.eventId ?? null,
      workflowId: body.context?.workflowId ?? sealed?.workflowId ?? null,
      changes: body.changes.map((c, i) => ({ ...c, ...(sealed?.accounts?.[i] ? { account: sealed.accounts[i] } : {}) })),
      ...(sealed?.personal ? { personal: sealed.personal } : {}),
      hash: row.hash,
    });
  }
  return out;
}
