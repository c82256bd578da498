// Applied policy versions (`provisioner policy apply`): each version with its files, who applied it
// and why, in order; the newest is the policy in force (the workers follow it without a restart).
// A version's rollout keeps here the people whose desired state it changes (computed from the store
// by the rollout's activities) and which of them were asked to plan again.
//
// A person's reason is free text and may name people: it is sealed under their own key in the row
// and in the audit record's `personal` part; the clear reason names only the versions.
import type { SourceFile } from '../policy/yaml-source.js';
import { recordPolicyVersion } from './policy-versions.js';
import type { AppendedRecord, AuditEntry } from './audit-record.js';
import type { Db } from './db.js';
import { ensurePerson, openJson, personKey, sealJson } from './person-keys.js';
import type { Store, StoreTx } from './store.js';
import type { KeyEncryptionKeys } from './store-keys.js';

export const MAX_APPLY_REASON = 500;

/** Who applied a version: a person (the API's authenticated caller), or the system at a first start. */
export type AppliedBy = { employeeId: string } | { system: 'startup' };

export type ApplyPolicyInput = { version: string; files: readonly SourceFile[]; appliedBy: AppliedBy; reason: string };

export type RolloutStatus = 'pending' | 'evaluating' | 'signalling' | 'completed' | 'failed' | 'superseded';

export type AppliedPolicy = {
  seq: number;
  version: string;
  /** Names the rollout: the version, or `<version>@<seq>` when it was applied before. */
  rolloutId: string;
  previousVersion: string | null;
  /** A person's employee id (null once purged), or `system:startup`. */
  appliedBy: string | null;
  appliedAt: Date;
  /** Undefined when it cannot be read here (no key-encryption key, or the person was purged). */
  reason: string | undefined;
  status: RolloutStatus;
  evaluated: number;
  changed: number;
  rolloutError: string | null;
};

/** `changed: false`: the version is already the one in force (nothing was written). */
export type ApplyPolicyResult = { changed: boolean; seq: number; version: string; rolloutId: string; previousVersion: string | null };

const reasonContext = (version: string): string => `policy-apply-reason:${version}`;

/** Records `version` as the policy in force, unless it already is. Concurrent applies take turns. */
export async function applyPolicyVersion(tx: StoreTx, input: ApplyPolicyInput): Promise<ApplyPolicyResult> {
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > MAX_APPLY_REASON) throw new RangeError(`a reason is 1-${MAX_APPLY_REASON} characters`);
  await tx.client.query(`select pg_advisory_xact_lock(hashtextextended(current_schema() || ':policy-applied', 0))`);
  const { rows } = await tx.client.query<{ seq: string; version: string; rollout_id: string }>('select seq, version, rollout_id from policy_applied order by seq desc limit 1');
  const newest = rows[0];
  // A repeat changes nothing; nor does the system's start-up record once anything was applied (it only seeds an empty store).
  if (newest && (newest.version === input.version || 'system' in input.appliedBy)) return { changed: false, seq: Number(newest.seq), version: newest.version, rolloutId: newest.rollout_id, previousVersion: null };
  const before = await tx.client.query('select 1 from policy_applied where version = $1 limit 1', [input.version]);
  const files = [...input.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => ({ name: f.name, content: f.content }));
  let person: { personId: string; sealed: Buffer } | undefined;
  if ('employeeId' in input.appliedBy) {
    const p = await ensurePerson(tx.client, tx.kek, input.appliedBy.employeeId);
    person = { personId: p.personId, sealed: sealJson(p, reasonContext(input.version), reason) };
  }
  const seq = Number((await tx.client.query<{ seq: string }>(`select nextval(pg_get_serial_sequence('policy_applied', 'seq')) as seq`)).rows[0]!.seq);
  const rolloutId = (before.rowCount ?? 0) > 0 ? `${input.version}@${seq}` : input.version;
  await tx.client.query(
    `insert into policy_applied (seq, version, rollout_id, previous_version, content, applied_by, applied_by_system, reason, system_reason, status)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    // The first version has nobody to move: its rollout is complete as it is recorded.
    [seq, input.version, rolloutId, newest?.version ?? null, JSON.stringify(files), person?.personId ?? null, person ? null : 'system:startup', person?.sealed ?? null, person ? null : reason, newest ? 'pending' : 'completed'],
  );
  // A rollout still under way for an older version stops at its next batch: the new one re-evaluates everyone it changes.
  await tx.client.query(`update policy_applied set status = 'superseded' where seq < $1 and status in ('pending', 'evaluating', 'signalling')`, [seq]);
  await recordPolicyVersion(tx, { version: input.version, source: 'applied' });
  return { changed: true, seq, version: input.version, rolloutId, previousVersion: newest?.version ?? null };
}

export function policyAppliedAudit(input: ApplyPolicyInput, result: ApplyPolicyResult): AuditEntry {
  const person = 'employeeId' in input.appliedBy ? input.appliedBy.employeeId : undefined;
  return {
    actor: person ? { type: 'person', employeeId: person } : { type: 'system', id: 'startup' },
    action: 'policy.applied',
    reason: `policy ${input.version} applied (before: ${result.previousVersion ?? 'none'}; ${input.files.length} files)`,
    policyVersion: input.version,
    ...(person ? { subject: { employeeId: person }, personal: { reason: input.reason.trim() } } : {}),
    changes: [{ op: 'policy.apply', outcome: input.version }],
  };
}

/** Applies the version with its audit record in one transaction (none for a repeat). */
export async function recordPolicyApplied(store: Store, input: ApplyPolicyInput): Promise<ApplyPolicyResult & { record: AppendedRecord | null }> {
  const { result, record } = await store.change(
    (tx) => applyPolicyVersion(tx, input),
    (r) => (r.changed ? policyAppliedAudit(input, r) : null),
  );
  return { ...result, record };
}

/** The newest applied version (cheap: the workers poll it). */
export type NewestApplied = { seq: number; version: string; rolloutId: string; status: RolloutStatus };

/**
 * The newest applied version's sequence number, hash, rollout id and rollout status. Only the newest
 * can be `pending`: an apply supersedes every older rollout not yet finished.
 */
export async function newestAppliedVersion(db: Db): Promise<NewestApplied | undefined> {
  const { rows } = await db.query<{ seq: string; version: string; rollout_id: string; status: RolloutStatus }>({
    name: 'newest-applied-policy-rollout',
    text: 'select seq, version, rollout_id, status from policy_applied order by seq desc limit 1',
  });
  const r = rows[0];
  return r ? { seq: Number(r.seq), version: r.version, rolloutId: r.rollout_id, status: r.status } : undefined;
}

/** The files of an applied version (the newest row of that version). */
export async function appliedPolicyFiles(db: Db, version: string): Promise<SourceFile[] | undefined> {
  const { rows } = await db.query<{ content: SourceFile[] }>('select content from policy_applied where version = $1 order by seq desc limit 1', [version]);
  return rows[0]?.content;
}

type AppliedRow = {
  seq: string; version: string; rollout_id: string; previous_version: string | null; applied_by: string | null; applied_by_system: string | null; employee_id: string | null;
  applied_at: Date; reason: Buffer | null; system_reason: string | null; status: RolloutStatus; evaluated: number; changed: number; rollout_error: string | null;
};

/** An applied version by hash (its newest application) or by sequence, or the newest of all; its reason opened when `kek` is given. */
export async function getAppliedPolicy(db: Db, kek: KeyEncryptionKeys | undefined, which: { version?: string; seq?: number } = {}): Promise<AppliedPolicy | undefined> {
  const { rows } = await db.query<AppliedRow>(
    `select p.*, i.employee_id from policy_applied p left join identities i on i.person_id = p.applied_by
      where ($1::text is null or p.version = $1) and ($2::bigint is null or p.seq = $2) order by p.seq desc limit 1`,
    [which.version ?? null, which.seq ?? null],
  );
  const r = rows[0];
  if (!r) return undefined;
  let reason: string | undefined = r.system_reason ?? undefined;
  if (r.reason && r.applied_by && kek) {
    const key = await personKey(db, kek, r.applied_by);
    if (key) reason = openJson({ personId: r.applied_by, key }, reasonContext(r.version), r.reason) as string;
  }
  return {
    seq: Number(r.seq), version: r.version, rolloutId: r.rollout_id, previousVersion: r.previous_version, appliedBy: r.applied_by_system ?? r.employee_id, appliedAt: r.applied_at,
    reason, status: r.status, evaluated: r.evaluated, changed: r.changed, rolloutError: r.rollout_error,
  };
}

/** One person a rollout changes: how many entitlements, roles, accounts and changed attributes they gain, and entitlements, roles and accounts they lose (policy/diff.ts). */
export type RolloutTarget = { personId: string; gains: number; loses: number };

/** Records a page of the people a rollout changes (a repeat of a page adds nothing) and its progress. */
export async function recordRolloutTargets(tx: StoreTx, input: { seq: number; targets: readonly RolloutTarget[]; evaluated: number }): Promise<{ added: number }> {
  let added = 0;
  if (input.targets.length > 0) {
    const { rowCount } = await tx.client.query(
      `insert into policy_rollout_targets (seq, person_id, gains, loses)
       select $1, t.person_id, t.gains, t.loses from unnest($2::uuid[], $3::int[], $4::int[]) as t(person_id, gains, loses)
       on conflict do nothing`,
      [input.seq, input.targets.map((t) => t.personId), input.targets.map((t) => t.gains), input.targets.map((t) => t.loses)],
    );
    added = rowCount ?? 0;
  }
  await tx.client.query(
    `update policy_applied set evaluated = $2, changed = (select count(*) from policy_rollout_targets where seq = $1),
       status = case when status = 'pending' then 'evaluating' else status end where seq = $1`,
    [input.seq, input.evaluated],
  );
  return { added };
}

/**
 * People that superseded rollouts found but never asked (the newer version stopped them) join this
 * rollout: they still hold what an older version gave them. Returns how many joined.
 */
export async function carryOverUnsignalled(tx: StoreTx, seq: number): Promise<{ added: number }> {
  const { rowCount } = await tx.client.query(
    `insert into policy_rollout_targets (seq, person_id, gains, loses)
     select $1, t.person_id, max(t.gains), max(t.loses) from policy_rollout_targets t join policy_applied p on p.seq = t.seq
      where t.seq < $1 and p.status = 'superseded' and t.signalled_at is null group by t.person_id
     on conflict do nothing`,
    [seq],
  );
  await tx.client.query('update policy_applied set changed = (select count(*) from policy_rollout_targets where seq = $1) where seq = $1', [seq]);
  return { added: rowCount ?? 0 };
}

/** Sets the rollout's status (`signalling` once evaluated, then `completed` or `failed`), unless a newer version superseded it. */
export async function setRolloutStatus(tx: StoreTx, input: { seq: number; status: RolloutStatus; error?: string }): Promise<{ status: RolloutStatus }> {
  const { rows } = await tx.client.query<{ status: RolloutStatus }>(
    `update policy_applied set status = case when status = 'superseded' then status else $2 end, rollout_error = $3 where seq = $1 returning status`,
    [input.seq, input.status, input.error ?? null],
  );
  if (!rows[0]) throw new RangeError(`no applied policy with sequence ${input.seq}`);
  return { status: rows[0].status };
}

/** The next people of the rollout not yet asked to plan again, in a stable order. */
export async function pendingRolloutTargets(db: Db, seq: number, limit: number): Promise<Array<{ personId: string; employeeId: string }>> {
  const { rows } = await db.query<{ person_id: string; employee_id: string }>(
    `select t.person_id, i.employee_id from policy_rollout_targets t join identities i using (person_id)
      where t.seq = $1 and t.signalled_at is null order by t.person_id limit $2`,
    [seq, limit],
  );
  return rows.map((r) => ({ personId: r.person_id, employeeId: r.employee_id }));
}

export async function markRolloutSignalled(tx: StoreTx, input: { seq: number; personIds: readonly string[] }): Promise<{ marked: number }> {
  const { rowCount } = await tx.client.query(
    'update policy_rollout_targets set signalled_at = now() where seq = $1 and person_id = any($2::uuid[]) and signalled_at is null',
    [input.seq, input.personIds],
  );
  return { marked: rowCount ?? 0 };
}

export type RolloutCounts = {
  signalled: number;
  /** Outcomes recorded for the rollout's change id, by status (succeeded, failed, action-required, ...). */
  outcomes: Record<string, number>;
  /** The people changed, by employee id, with their outcome when recorded (at most `limit`). */
  people: Array<{ employeeId: string; gains: number; loses: number; signalled: boolean; outcome: string | null }>;
};

/** How far the rollout of applied version `seq` got: who was asked, and the outcomes of `reevaluate/<requestId>`. */
export async function rolloutCounts(db: Db, input: { seq: number; changeId: string; limit?: number }): Promise<RolloutCounts> {
  const { rows } = await db.query<{ employee_id: string; gains: number; loses: number; signalled: boolean; outcome: string | null }>(
    `select i.employee_id, t.gains, t.loses, t.signalled_at is not null as signalled, o.status as outcome
       from policy_rollout_targets t join identities i using (person_id)
       left join outcomes o on o.change_id = 'identity/' || i.employee_id || '/' || $2
      where t.seq = $1 order by i.employee_id`,
    [input.seq, input.changeId],
  );
  const outcomes: Record<string, number> = {};
  let signalled = 0;
  for (const r of rows) {
    if (r.signalled) signalled += 1;
    if (r.outcome) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  }
  const people = rows.slice(0, input.limit ?? 200).map((r) => ({ employeeId: r.employee_id, gains: r.gains, loses: r.loses, signalled: r.signalled, outcome: r.outcome }));
  return { signalled, outcomes, people };
}
