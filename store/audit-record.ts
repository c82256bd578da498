// The shapes of the audit chain: what a caller asks to record (AuditEntry, validated on the way in),
// the canonical body that is hashed and signed, and the rows read back for verification and queries
// (validated on the way out, because a tampered table is exactly the input we must not trust).
import { z } from 'zod';
import { employeeIdSchema } from '../schemas/events.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'a name of letters, digits and . _ : / -');

/** Who acted: a person (recorded by pseudonym), or the system or a service by name. */
export const actorSchema = z.union([
  z.strictObject({ type: z.literal('person'), employeeId: employeeIdSchema }),
  z.strictObject({ type: z.enum(['system', 'service']), id: name }),
]);
export type Actor = z.infer<typeof actorSchema>;

/** What changed, in terms that carry no personal data (the account reference is sealed). */
export const auditChangeSchema = z.strictObject({
  /** The verb: ensureAccount, disableAccount, grant, revoke, status, purge, ... */
  op: z.string().min(1).max(100),
  app: z.string().min(1).max(200).optional(),
  entitlement: z.string().min(1).max(500).optional(),
  outcome: z.string().min(1).max(100).optional(),
  /** Names (not values) of attributes that changed. */
  fields: z.array(z.string().min(1).max(100)).max(200).optional(),
  /** The account in the app (SCIM id, LDAP DN: may name the person), sealed under the subject's key. */
  account: z.string().min(1).max(1000).optional(),
});
export type AuditChange = z.infer<typeof auditChangeSchema>;

export const auditEntrySchema = z.strictObject({
  actor: actorSchema,
  /** e.g. identity.snapshot-stored, account.ensure.requested, grant.added, approval.decided */
  action: z.string().regex(/^[a-z][a-zA-Z0-9.-]{0,99}$/, 'a dotted lower-case action, e.g. grant.added'),
  /** Why, in words. Must not name people: personal details go in `personal`. */
  reason: z.string().min(1).max(2000),
  eventId: z.string().min(1).max(500).optional(),
  /** Workflow and event ids may embed the employee id: with a subject they are sealed. */
  workflowId: z.string().min(1).max(500).optional(),
  policyVersion: z.string().min(1).max(200).optional(),
  /** The person the record is about: by employee id, or by pseudonym (e.g. a purge). */
  subject: z.union([z.strictObject({ employeeId: employeeIdSchema }), z.strictObject({ personId: z.uuid() })]).optional(),
  changes: z.array(auditChangeSchema).max(1000).default([]),
  /** Personal attributes the record must carry; sealed under the subject's key. */
  personal: z.record(z.string(), z.json()).optional(),
  /** Appending twice with the same key yields the first record (e.g. an activity's step key). */
  idempotencyKey: z.string().min(1).max(1000).optional(),
});
export type AuditEntry = z.input<typeof auditEntrySchema>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const storedChangeSchema = auditChangeSchema.omit({ account: true });

/** The signed body: exactly these fields, always present (null rather than absent), so every writer serialises alike. */
export const recordBodySchema = z.strictObject({
  v: z.literal(1),
  chain: z.uuid(),
  seq: z.number().int().positive(),
  id: z.uuid(),
  prev: hex64,
  at: z.iso.datetime(),
  keyId: z.string().min(1),
  actor: z.string().min(1),
  action: z.string().min(1),
  reason: z.string(),
  policyVersion: z.string().nullable(),
  subject: z.uuid().nullable(),
  changes: z.array(storedChangeSchema),
  /** Event and workflow ids in clear, only on records about nobody in particular. */
  context: z.strictObject({ eventId: z.string().nullable(), workflowId: z.string().nullable() }).nullable(),
  /** base64 AES-256-GCM of SealedPart under the subject's key, bound to `audit:<id>`. */
  sealed: z.string().nullable(),
});
export type RecordBody = z.infer<typeof recordBodySchema>;

/** What is sealed under the subject's key. */
export const sealedPartSchema = z.strictObject({
  employeeId: z.string().optional(),
  eventId: z.string().optional(),
  workflowId: z.string().optional(),
  /** Account references, aligned with `changes` (null where a change names no account). */
  accounts: z.array(z.string().nullable()).optional(),
  personal: z.record(z.string(), z.json()).optional(),
});
export type SealedPart = z.infer<typeof sealedPartSchema>;

export const GENESIS_HASH = '0'.repeat(64);

/** The columns copied out of the body for queries. */
export function appsOf(changes: ReadonlyArray<{ app?: string | undefined }>): string[] {
  return [...new Set(changes.flatMap((c) => (c.app ? [c.app] : [])))].sort();
}

/** Timestamps travel as text in one fixed format, so the body and the column compare exactly. */
export const TIMESTAMP_SQL = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

export const recordRowSchema = z.object({
  seq: z.coerce.number().int(),
  record_id: z.string(),
  hash: z.string(),
  body: z.string(),
  signature: z.string(),
  recorded_at: z.string(),
  actor: z.string(),
  action: z.string(),
  subject: z.string().nullable(),
  apps: z.array(z.string()),
});
export type RecordRow = z.infer<typeof recordRowSchema>;

export const RECORD_COLUMNS = `seq, record_id, hash, body, signature,
  to_char(recorded_at at time zone 'UTC', ${TIMESTAMP_SQL}) as recorded_at, actor, action, subject, apps`;

export type AppendedRecord = { seq: number; recordId: string; hash: string; at: string; deduplicated: boolean };
