// Identities: one row per person, keyed by pseudonym. The HR snapshot is stored sealed under the
// person's key; status and termination time stay in clear because retention and reporting need
// them. Ordering is by state: a snapshot is stored only if its sequence is newer than the stored one.
import { z } from 'zod';
import { workerSnapshotSchema, type WorkerSnapshot } from '../schemas/events.js';
import type { Db } from './db.js';
import { blindDigest, blindDigests, blindIndexed, type BlindIndexed } from './blind-index.js';
import { randomUUID } from 'node:crypto';
import { ensurePerson, newPersonKey, openJson, personKey, sealJson, unwrapPersonKey } from './person-keys.js';
import type { StoreTx } from './store.js';
import type { KeyEncryptionKeys } from './store-keys.js';

export type IdentityStatus = WorkerSnapshot['status'];

export type UpsertIdentityResult = {
  personId: string;
  /** False when the snapshot is not newer than the stored one (stale or duplicate): nothing changed. */
  stored: boolean;
  previous: { status: IdentityStatus | null; sequence: number };
  /** Names of the attributes that differ from the stored snapshot (never their values). */
  changedFields: string[];
};

const attributesContext = 'identity-attributes';

/** Stores an HR snapshot if it is newer than the stored one. */
export async function upsertIdentity(tx: StoreTx, snapshotInput: WorkerSnapshot): Promise<UpsertIdentityResult> {
  const snapshot = workerSnapshotSchema.parse(snapshotInput);
  const person = await ensurePerson(tx.client, tx.kek, snapshot.employeeId);
  // Row lock: concurrent snapshots of one person are decided one at a time.
  const { rows } = await tx.client.query<{ status: IdentityStatus | null; snapshot_sequence: string; attributes: Buffer | null; terminated_at: Date | null }>(
    'select status, snapshot_sequence, attributes, terminated_at from identities where person_id = $1 for update',
    [person.personId],
  );
  const current = rows[0]!;
  const previous = { status: current.status, sequence: Number(current.snapshot_sequence) };
  if (snapshot.sequence <= previous.sequence) return { personId: person.personId, stored: false, previous, changedFields: [] };

  const before = current.attributes ? (openJson(person, attributesContext, current.attributes) as Record<string, unknown>) : {};
  const changedFields = [...new Set([...Object.keys(before), ...Object.keys(snapshot)])]
    .filter((k) => k !== 'sequence' && k !== 'effectiveAt' && JSON.stringify(before[k]) !== JSON.stringify((snapshot as Record<string, unknown>)[k]))
    .sort();
  const terminatedAt = snapshot.status !== 'terminated' ? null : current.status === 'terminated' && current.terminated_at ? current.terminated_at : new Date(snapshot.effectiveAt);
  await tx.client.query(
    `update identities set status = $2, terminated_at = $3, snapshot_sequence = $4, attributes = $5, email_digest = $6, updated_at = now() where person_id = $1`,
    // ensurePerson above has refused a store without a KEK.
    [person.personId, snapshot.status, terminatedAt, snapshot.sequence, sealJson(person, attributesContext, snapshot), blindDigest(tx.kek!, 'email', snapshot.email)],
  );
  return { personId: person.personId, stored: true, previous, changedFields };
}

export type Identity = {
  personId: string;
  employeeId: string;
  status: IdentityStatus | null;
  terminatedAt: Date | null;
  snapshotSequence: number;
  lastAppliedSequence: number;
  /** The stored HR snapshot, or undefined if none was stored yet. */
  snapshot: WorkerSnapshot | undefined;
};

export async function getIdentity(db: Db, kek: KeyEncryptionKeys | undefined, employeeId: string): Promise<Identity | undefined> {
  const { rows } = await db.query<{ person_id: string; status: IdentityStatus | null; terminated_at: Date | null; snapshot_sequence: string; last_applied_sequence: string; attributes: Buffer | null }>(
    `select person_id, status, terminated_at, snapshot_sequence, last_applied_sequence, attributes from identities where employee_id = $1`,
    [employeeId],
  );
  const row = rows[0];
  if (!row) return undefined;
  let snapshot: WorkerSnapshot | undefined;
  if (row.attributes) {
    const key = await personKey(db, kek, row.person_id);
    if (key) snapshot = workerSnapshotSchema.parse(openJson({ personId: row.person_id, key }, attributesContext, row.attributes));
  }
  return {
    personId: row.person_id,
    employeeId,
    status: row.status,
    terminatedAt: row.terminated_at,
    snapshotSequence: Number(row.snapshot_sequence),
    lastAppliedSequence: Number(row.last_applied_sequence),
    snapshot,
  };
}

/** The sequence of the last snapshot whose change was applied; -1 for a person the store has not seen. */
export async function lastAppliedSequence(db: Db, employeeId: string): Promise<number> {
  const { rows } = await db.query<{ last_applied_sequence: string }>('select last_applied_sequence from identities where employee_id = $1', [employeeId]);
  return rows[0] ? z.coerce.number().int().parse(rows[0].last_applied_sequence) : -1;
}

/** Advances (never lowers) the last applied sequence. */
export async function markSequenceApplied(tx: StoreTx, employeeId: string, sequence: number): Promise<number> {
  const { rows } = await tx.client.query<{ last_applied_sequence: string }>(
    `update identities set last_applied_sequence = greatest(last_applied_sequence, $2), updated_at = now()
      where employee_id = $1 returning last_applied_sequence`,
    [employeeId, sequence],
  );
  if (!rows[0]) throw new RangeError('markSequenceApplied: the store has no identity for this employee id; store its snapshot first');
  return Number(rows[0].last_applied_sequence);
}

export type SharedValue = { attribute: BlindIndexed; value: string };
export type PeopleSharing = { attribute: BlindIndexed; value: string; employeeIds: string[] };

/**
 * Other people, not terminated, whose stored snapshot has one of `values` (compared by the blind
 * index's rule: trimmed, NFC, case-insensitive). The person themself is never listed, whatever the
 * case of their employee id. Only values that someone else holds are returned.
 */
export async function peopleSharing(db: Db, kek: KeyEncryptionKeys, input: { employeeId: string; values: readonly SharedValue[] }): Promise<PeopleSharing[]> {
  const found: PeopleSharing[] = [];
  for (const v of input.values) {
    const column = blindIndexed[v.attribute];
    const { rows } = await db.query<{ employee_id: string }>(
      `select employee_id from identities
        where ${column} = any($1::bytea[]) and status is not null and status <> 'terminated' and upper(employee_id) <> upper($2)
        order by employee_id`,
      [blindDigests(kek, v.attribute, v.value), input.employeeId],
    );
    if (rows.length > 0) found.push({ ...v, employeeIds: rows.map((r) => r.employee_id) });
  }
  return found;
}

/** A stored snapshot as a page of storedSnapshots gives it. */
export type StoredSnapshot = { personId: string; employeeId: string; status: IdentityStatus | null; snapshot: WorkerSnapshot };

/**
 * A page of the people with a stored snapshot, in employee id order after `after` (a resumable
 * cursor), their snapshots opened with their keys: for what looks at every identity (a
 * reconciliation's comparison, a policy rollout's evaluation). One query per page; a purged
 * person, whose key is gone, is skipped.
 */
export async function storedSnapshots(db: Db, kek: KeyEncryptionKeys | undefined, page: { after?: string; limit: number }): Promise<{ items: StoredSnapshot[]; next: string | undefined }> {
  const { rows } = await db.query<{ person_id: string; employee_id: string; status: IdentityStatus | null; attributes: Buffer; kek_id: string | null; wrapped_key: Buffer | null }>(
    `select i.person_id, i.employee_id, i.status, i.attributes, k.kek_id, k.wrapped_key from identities i left join person_keys k using (person_id)
      where i.attributes is not null and ($1::text is null or i.employee_id > $1) order by i.employee_id limit $2`,
    [page.after ?? null, page.limit],
  );
  const items: StoredSnapshot[] = [];
  for (const r of rows) {
    if (!r.kek_id || !r.wrapped_key) continue;
    const key = unwrapPersonKey(kek, r.person_id, r.kek_id, r.wrapped_key);
    // Parsed, not cast: a snapshot stored by an older build gets the defaults of today's schema.
    items.push({ personId: r.person_id, employeeId: r.employee_id, status: r.status, snapshot: workerSnapshotSchema.parse(openJson({ personId: r.person_id, key }, attributesContext, r.attributes)) });
  }
  return { items, next: rows.length === page.limit ? rows[rows.length - 1]!.employee_id : undefined };
}

/**
 * Many new people at once, each with a fresh pseudonym and key and their snapshot sealed under it,
 * exactly as upsertIdentity stores one (benchmarks and migrations from another system: one
 * statement per call; people the store knows are refused by the unique employee id). Returns their person ids.
 */
export async function insertSnapshots(tx: StoreTx, snapshots: readonly WorkerSnapshot[]): Promise<string[]> {
  if (!tx.kek) throw new RangeError('insertSnapshots: the store has no key-encryption key');
  const kek = tx.kek;
  const rows = snapshots.map((snapshot) => {
    const personId = randomUUID();
    const { key, kekId, wrapped } = newPersonKey(kek, personId);
    const person = { personId, key };
    return {
      personId, kekId, wrapped, employeeId: snapshot.employeeId, status: snapshot.status, sequence: snapshot.sequence,
      terminatedAt: snapshot.status === 'terminated' ? snapshot.effectiveAt : null,
      attributes: sealJson(person, attributesContext, snapshot), email: blindDigest(kek, 'email', snapshot.email),
    };
  });
  await tx.client.query(
    `with people as (
       insert into identities (person_id, employee_id, status, terminated_at, snapshot_sequence, attributes, email_digest)
       select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bytea[], $7::bytea[])
       returning person_id
     )
     insert into person_keys (person_id, kek_id, wrapped_key) select * from unnest($1::uuid[], $8::text[], $9::bytea[])`,
    [rows.map((r) => r.personId), rows.map((r) => r.employeeId), rows.map((r) => r.status), rows.map((r) => r.terminatedAt), rows.map((r) => r.sequence),
      rows.map((r) => r.attributes), rows.map((r) => r.email), rows.map((r) => r.kekId), rows.map((r) => r.wrapped)],
  );
  return rows.map((r) => r.personId);
}

/**
 * The employee id of a person, with an HR snapshot and not terminated, stored after `since`, whom
 * an account correlates to by its correlation key (the employee id, any case) or, when given, its
 * e-mail (blind index): an orphan that has found its person since it was listed (someone hired
 * meanwhile). People the comparison already knew are not answers: an orphan that carries one of
 * their keys or e-mails is a second account of theirs, still an orphan.
 */
export async function identityCorrelating(db: Db, kek: KeyEncryptionKeys | undefined, account: { externalId?: string; email?: string }, since: Date): Promise<string | undefined> {
  const digests = account.email && kek ? blindDigests(kek, 'email', account.email) : [];
  if (!account.externalId && digests.length === 0) return undefined;
  const { rows } = await db.query<{ employee_id: string }>(
    `select employee_id from identities
      where status is not null and status <> 'terminated' and created_at > $3
        and (($1::text <> '' and upper(employee_id) = upper($1)) or email_digest = any($2::bytea[]))
      order by employee_id limit 1`,
    [account.externalId ?? '', digests, since],
  );
  return rows[0]?.employee_id;
}
