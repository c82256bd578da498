// Grants: who holds which entitlement in which app, why (provenance) and until when.
import type { Db } from './db.js';
import { ensurePerson, personIdOf } from './person-keys.js';
import type { StoreTx } from './store.js';

/** Why a person holds an entitlement: a birthright rule, an approved request, or a documented exception. */
export type Provenance =
  | { kind: 'birthright'; ruleId: string }
  | { kind: 'request'; ticketId: string; approvalId?: string }
  | { kind: 'exception'; reference: string };

export type Grant = {
  grantId: string;
  app: string;
  entitlementId: string;
  provenance: Provenance;
  policyVersion: string | null;
  grantedAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Why it was revoked; on a live grant, why it ends early (endRequestGrants). */
  revokeReason: string | null;
};

export type AddGrantInput = {
  employeeId: string;
  app: string;
  entitlementId: string;
  provenance: Provenance;
  expiresAt?: Date;
  policyVersion?: string;
};

function sourceOf(p: Provenance): { ref: string; approvalId: string | null } {
  switch (p.kind) {
    case 'birthright':
      return { ref: p.ruleId, approvalId: null };
    case 'request':
      return { ref: p.ticketId, approvalId: p.approvalId ?? null };
    case 'exception':
      return { ref: p.reference, approvalId: null };
  }
}

type GrantRow = {
  grant_id: string; app: string; entitlement_id: string; provenance: Provenance['kind']; source_ref: string; approval_id: string | null;
  policy_version: string | null; granted_at: Date; expires_at: Date | null; revoked_at: Date | null; revoke_reason: string | null;
};

function provenanceOf(row: GrantRow): Provenance {
  if (row.provenance === 'birthright') return { kind: 'birthright', ruleId: row.source_ref };
  if (row.provenance === 'request') return { kind: 'request', ticketId: row.source_ref, ...(row.approval_id ? { approvalId: row.approval_id } : {}) };
  return { kind: 'exception', reference: row.source_ref };
}

const toGrant = (row: GrantRow): Grant => ({
  grantId: row.grant_id,
  app: row.app,
  entitlementId: row.entitlement_id,
  provenance: provenanceOf(row),
  policyVersion: row.policy_version,
  grantedAt: row.granted_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
  revokeReason: row.revoke_reason,
});

/**
 * Records a live grant. A repeat converges: the same person, entitlement and provenance keep one
 * live grant, whose expiry a repeat with a new `expiresAt` moves (an approved extension).
 */
export async function addGrant(tx: StoreTx, input: AddGrantInput): Promise<{ grantId: string; result: 'created' | 'extended' | 'unchanged' }> {
  const person = await ensurePerson(tx.client, tx.kek, input.employeeId);
  const source = sourceOf(input.provenance);
  const inserted = await tx.client.query<{ grant_id: string }>(
    `insert into grants (person_id, app, entitlement_id, provenance, source_ref, approval_id, policy_version, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (person_id, app, entitlement_id, provenance, source_ref) where revoked_at is null do nothing
     returning grant_id`,
    [person.personId, input.app, input.entitlementId, input.provenance.kind, source.ref, source.approvalId, input.policyVersion ?? null, input.expiresAt ?? null],
  );
  if (inserted.rows[0]) return { grantId: inserted.rows[0].grant_id, result: 'created' };
  const { rows } = await tx.client.query<{ grant_id: string; expires_at: Date | null }>(
    `select grant_id, expires_at from grants
      where person_id = $1 and app = $2 and entitlement_id = $3 and provenance = $4 and source_ref = $5 and revoked_at is null for update`,
    [person.personId, input.app, input.entitlementId, input.provenance.kind, source.ref],
  );
  const live = rows[0]!;
  if (input.expiresAt && live.expires_at?.getTime() !== input.expiresAt.getTime()) {
    // An extension also clears the reason an earlier endRequestGrants gave for ending it.
    await tx.client.query('update grants set expires_at = $2, revoke_reason = null where grant_id = $1', [live.grant_id, input.expiresAt]);
    return { grantId: live.grant_id, result: 'extended' };
  }
  return { grantId: live.grant_id, result: 'unchanged' };
}

/** Ends live grants of an entitlement (all provenances, or one). Returns what was revoked. */
export async function revokeGrant(
  tx: StoreTx,
  input: { employeeId: string; app: string; entitlementId: string; provenance?: Provenance; reason: string },
): Promise<Grant[]> {
  const source = input.provenance ? sourceOf(input.provenance) : undefined;
  const { rows } = await tx.client.query<GrantRow>(
    `update grants g set revoked_at = now(), revoke_reason = $6
      where g.person_id = ${personIdOf('$1')} and g.app = $2 and g.entitlement_id = $3 and g.revoked_at is null
        and ($4::text is null or (g.provenance = $4 and g.source_ref = $5))
      returning g.*`,
    [input.employeeId, input.app, input.entitlementId, input.provenance?.kind ?? null, source?.ref ?? null, input.reason],
  );
  return rows.map(toGrant);
}

/**
 * An ITSM revoke request: the person's live `request` grants of the entitlement (whatever ticket
 * brought them) end at `at`. Their expiry is brought forward, never pushed back, so the planner sees
 * them expired and revokes them in the application (and then marks them revoked, via revokeGrant).
 * Returns the grants whose expiry moved: a repeat, whose grants already end by `at`, returns none.
 */
export async function endRequestGrants(
  tx: StoreTx,
  input: { employeeId: string; app: string; entitlementId: string; at: Date; reason: string },
): Promise<Grant[]> {
  const { rows } = await tx.client.query<GrantRow>(
    `update grants g set expires_at = least(coalesce(g.expires_at, $4), $4), revoke_reason = $5
      where g.person_id = ${personIdOf('$1')} and g.app = $2 and g.entitlement_id = $3
        and g.provenance = 'request' and g.revoked_at is null and (g.expires_at is null or g.expires_at > $4)
      returning g.*`,
    [input.employeeId, input.app, input.entitlementId, input.at, input.reason],
  );
  return rows.map(toGrant);
}

export async function listGrants(db: Db, employeeId: string, options: { includeRevoked?: boolean } = {}): Promise<Grant[]> {
  const { rows } = await db.query<GrantRow>(
    `select g.* from grants g
      where g.person_id = ${personIdOf('$1')} and ($2 or g.revoked_at is null) order by g.app, g.entitlement_id, g.granted_at`,
    [employeeId, options.includeRevoked ?? false],
  );
  return rows.map(toGrant);
}

/**
 * Live grants whose expiry has passed: the identity workflow's timers should have revoked them (a
 * safety net). Oldest first; `provenance` keeps one kind, `grantId` one grant, `limit` bounds the answer.
 */
export async function expiredGrants(
  db: Db,
  now: Date = new Date(),
  options: { provenance?: Provenance['kind']; grantId?: string; limit?: number } = {},
): Promise<Array<Grant & { employeeId: string }>> {
  const { rows } = await db.query<GrantRow & { employee_id: string }>(
    `select g.*, i.employee_id from grants g join identities i using (person_id)
      where g.revoked_at is null and g.expires_at <= $1 and ($2::text is null or g.provenance = $2)
        and ($3::uuid is null or g.grant_id = $3)
      order by g.expires_at, g.grant_id limit $4`,
    [now, options.provenance ?? null, options.grantId ?? null, options.limit ?? null],
  );
  return rows.map((r) => ({ ...toGrant(r), employeeId: r.employee_id }));
}

/** The live grants of many people at once (a page of a rollout or a reconciliation), by person id. */
export async function liveGrantsOf(db: Db, personIds: readonly string[]): Promise<Map<string, Grant[]>> {
  const out = new Map<string, Grant[]>();
  if (personIds.length === 0) return out;
  const { rows } = await db.query<GrantRow & { person_id: string }>(
    'select g.* from grants g where g.person_id = any($1::uuid[]) and g.revoked_at is null order by g.app, g.entitlement_id, g.granted_at',
    [personIds],
  );
  for (const r of rows) out.set(r.person_id, [...(out.get(r.person_id) ?? []), toGrant(r)]);
  return out;
}
