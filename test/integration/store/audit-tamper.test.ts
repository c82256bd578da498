// The audit chain against an attacker who can write to the database (with triggers disabled) but
// holds neither the signing key nor the checkpoint file: every kind of tampering is detected and
// the first bad record is named.
import { writeFileSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalize } from '../../../store/canonical-json.js';
import { sha256 } from '../../../store/audit-chain.js';
import { writeCheckpoint } from '../../../store/audit-checkpoints.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { createSigner, generateSigningSeed } from '../../../store/signing.js';
import type { Store } from '../../../store/store.js';
import { createTestStore, testKeys, type TestStore } from './test-store.js';

const opened: TestStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.drop()));
});

async function chainOf(records: number, keys = testKeys().keys): Promise<TestStore> {
  const t = await createTestStore('tamper', { keys });
  opened.push(t);
  await appendRecords(t.store, records);
  return t;
}

async function appendRecords(store: Store, n: number, from = 1): Promise<void> {
  for (let i = from; i < from + n; i += 1) {
    await store.audit({
      actor: i % 2 ? { type: 'system', id: 'identity-workflow' } : { type: 'person', employeeId: 'APPROVER1' },
      action: 'grant.added',
      reason: `record ${i} of the tamper test`,
      eventId: `event-${i}`,
      workflowId: `identity/E${i % 4}`,
      policyVersion: 'policy-abc',
      subject: { employeeId: `E${i % 4}` },
      changes: [{ op: 'grant', app: i % 3 ? 'crm' : 'wiki', entitlement: 'group:sales', outcome: 'applied', account: `acct-${i}` }],
    });
  }
}

const verify = (t: TestStore, withCheckpoints = true) =>
  verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier, ...(withCheckpoints ? { checkpointsFile: t.checkpointsFile } : {}) });

async function recordAt(t: TestStore, seq: number): Promise<{ hash: string; body: string; record_id: string }> {
  const { rows } = await t.store.pool.query('select hash, body, record_id from audit_records where seq = $1', [seq]);
  return rows[0];
}

describe('audit chain verification', () => {
  it('an untouched chain verifies and counts its records, checkpoints included', async () => {
    const t = await chainOf(20);
    await writeCheckpoint(t.store.pool, t.signer, t.checkpointsFile);
    await appendRecords(t.store, 5, 21);
    const result = await verify(t);
    expect(result).toMatchObject({ ok: true, verified: 25, checkpoints: 1, head: { seq: 25 } });
  });

  it('the application cannot update, delete or truncate a record (append-only triggers)', async () => {
    const t = await chainOf(3);
    await expect(t.store.pool.query(`update audit_records set reason = 'x' where seq = 1`)).rejects.toThrow();
    await expect(t.store.pool.query('delete from audit_records where seq = 1')).rejects.toThrow(/append-only/);
    await expect(t.store.pool.query('truncate audit_records')).rejects.toThrow(/append-only/);
    expect((await verify(t)).ok).toBe(true);
  });

  it('a modified record is named: its hash no longer matches', async () => {
    const t = await chainOf(20);
    await t.tamper(`update audit_records set body = replace(body, 'record 7 of', 'record 8 of') where seq = 7`);
    const result = await verify(t);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatchObject({ kind: 'modified', seq: 7 });
    expect(result.problem!.message).toMatch(/hash does not match/);
    expect(result.verified).toBe(6);
  });

  it('a modified record with a recomputed hash is named: its signature no longer verifies', async () => {
    const t = await chainOf(20);
    const original = await recordAt(t, 7);
    const body = canonicalize({ ...JSON.parse(original.body), reason: 'nothing to see here' });
    await t.tamper('update audit_records set body = $1, hash = $2 where seq = 7', [body, sha256(body)]);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'modified', seq: 7 });
    expect(result.problem!.message).toMatch(/signature/);
  });

  it('a record re-signed with a forged key under the real key id is named', async () => {
    const t = await chainOf(20);
    const forger = createSigner(t.signer.keyId, generateSigningSeed());
    const original = await recordAt(t, 12);
    const body = canonicalize({ ...JSON.parse(original.body), reason: 'approved by the board' });
    const hash = sha256(body);
    await t.tamper('update audit_records set body = $1, hash = $2, signature = $3 where seq = 12', [body, hash, forger.sign('record', hash)]);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ seq: 12 });
  });

  it('a changed query column (the actor) is named, though the signed body is intact', async () => {
    const t = await chainOf(20);
    await t.tamper(`update audit_records set actor = 'system:someone-else' where seq = 4`);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'modified', seq: 4 });
    expect(result.problem!.message).toMatch(/query columns/);
  });

  it('a deleted record is named by its seq', async () => {
    const t = await chainOf(20);
    await t.tamper('delete from audit_records where seq = 9');
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'missing', seq: 9 });
    expect(result.problem!.message).toMatch(/record 9 is missing/);
    expect(result.verified).toBe(8);
  });

  it('a deleted record whose successors were renumbered to close the gap is named', async () => {
    const t = await chainOf(20);
    await t.tamper('delete from audit_records where seq = 9');
    await t.tamper('update audit_records set seq = seq - 1 where seq > 9');
    const result = await verify(t);
    expect(result.ok).toBe(false);
    expect(result.problem!.seq).toBe(9);
  });

  it('a forged record inserted in the middle (successors renumbered) is named', async () => {
    const t = await chainOf(20);
    const previous = await recordAt(t, 9);
    // Two steps around the primary key: out of the way, then back one further along.
    await t.tamper('update audit_records set seq = seq + 100000 where seq >= 10');
    await t.tamper('update audit_records set seq = seq - 100000 + 1 where seq > 100000');
    const forger = createSigner(t.signer.keyId, generateSigningSeed());
    const body = canonicalize({ ...JSON.parse(previous.body), seq: 10, id: '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', prev: previous.hash, reason: 'backdated grant' });
    const hash = sha256(body);
    const parsed = JSON.parse(body);
    await t.tamper(
      `insert into audit_records (seq, record_id, hash, body, signature, recorded_at, actor, action, subject, apps)
       values (10, $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [parsed.id, hash, body, forger.sign('record', hash), parsed.at, parsed.actor, parsed.action, parsed.subject, ['crm']],
    );
    const result = await verify(t);
    expect(result.problem).toMatchObject({ seq: 10 });
    expect(result.verified).toBe(9);
  });

  it('a genuine record from another chain (same signing key) appended at the end is named as inserted', async () => {
    const shared = testKeys().keys;
    const t = await chainOf(20, shared);
    const other = await chainOf(21, shared);
    const foreign = await other.store.pool.query(`select * from audit_records where seq = 21`);
    const f = foreign.rows[0];
    await t.tamper(
      `insert into audit_records (seq, record_id, hash, body, signature, recorded_at, actor, action, subject, apps)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [f.seq, f.record_id, f.hash, f.body, f.signature, f.recorded_at, f.actor, f.action, f.subject, f.apps],
    );
    await t.tamper('update audit_head set seq = 21, hash = $1', [f.hash]);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'inserted', seq: 21 });
  });

  it('a record slipped in before the first one (the seq check constraint dropped) is named', async () => {
    const t = await chainOf(5);
    const first = await t.store.pool.query('select * from audit_records where seq = 1');
    const f = first.rows[0];
    await t.tamper('alter table audit_records drop constraint audit_records_seq_check');
    await t.tamper(
      `insert into audit_records (seq, record_id, hash, body, signature, recorded_at, actor, action, subject, apps)
       values (0, '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', $1, $2, $3, $4, $5, $6, $7, $8)`,
      [f.hash, f.body, f.signature, f.recorded_at, f.actor, f.action, f.subject, f.apps],
    );
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'inserted', seq: 0 });
  });

  it('two reordered records are named', async () => {
    const t = await chainOf(20);
    await t.tamper('update audit_records set seq = seq + 100000 where seq in (5, 6)');
    await t.tamper('update audit_records set seq = case seq when 100005 then 6 else 5 end where seq in (100005, 100006)');
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'reordered', seq: 5 });
    expect(result.verified).toBe(4);
  });

  it('a truncated tail is named from the checkpoint, even when the head row was rolled back too', async () => {
    const t = await chainOf(20);
    await writeCheckpoint(t.store.pool, t.signer, t.checkpointsFile);
    const newHead = await recordAt(t, 15);
    await t.tamper('delete from audit_records where seq > 15');
    await t.tamper('update audit_head set seq = 15, hash = $1', [newHead.hash]);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'truncated', seq: 16 });
    expect(result.problem!.message).toMatch(/checkpoint/);
    expect(result.verified).toBe(15);
  });

  it('a truncated tail is named from the head row when there is no checkpoint', async () => {
    const t = await chainOf(20);
    await t.tamper('delete from audit_records where seq > 18');
    const result = await verify(t, false);
    expect(result.problem).toMatchObject({ kind: 'truncated', seq: 19 });
  });

  it('a chain rewritten from a checkpointed record onwards is named', async () => {
    const t = await chainOf(10);
    await writeCheckpoint(t.store.pool, t.signer, t.checkpointsFile);
    // Replace the newest record by a brand-new genuine append (e.g. an insider with the signing key
    // rolled the chain back by one and re-appended): the checkpoint pins the original.
    const nine = await recordAt(t, 9);
    await t.tamper('delete from audit_records where seq = 10');
    await t.tamper('update audit_head set seq = 9, hash = $1', [nine.hash]);
    await appendRecords(t.store, 1, 100);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'modified', seq: 10 });
    expect(result.problem!.message).toMatch(/checkpointed/);
  });

  it('an altered checkpoint file fails verification', async () => {
    const t = await chainOf(5);
    await writeCheckpoint(t.store.pool, t.signer, t.checkpointsFile);
    const line = JSON.parse(readFileSync(t.checkpointsFile, 'utf8'));
    writeFileSync(t.checkpointsFile, `${JSON.stringify({ ...line, seq: 3 })}\n`);
    const result = await verify(t);
    expect(result.problem).toMatchObject({ kind: 'checkpoint' });
    expect(result.problem!.message).toMatch(/signature/);
  });
});
