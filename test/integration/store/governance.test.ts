// The store API the lifecycle workflow's activities call: every write commits with its audit
// record or not at all, connector calls are recorded before and after, and the records read back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerSnapshot } from '../../../schemas/events.js';
import type { Outcome } from '../../../schemas/outcomes.js';
import { listAccounts, recordAccount } from '../../../store/accounts.js';
import { applyApprovalEvent } from '../../../store/approval-gates.js';
import { ApprovalRefusedError, getApproval, openApproval, pendingApprovals } from '../../../store/approvals.js';
import type { ApprovalEvent } from '../../../policy/approval-chain.js';
import { queryAudit } from '../../../store/audit-query.js';
import type { AuditEntry } from '../../../store/audit-record.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { outcomeAuditEntry, recentOutcomes, recordOutcome } from '../../../store/changes.js';
import { addGrant, expiredGrants, listGrants, revokeGrant } from '../../../store/grants.js';
import { getIdentity, lastAppliedSequence, upsertIdentity } from '../../../store/identities.js';
import { listPolicyVersions, recordPolicyVersion } from '../../../store/policy-versions.js';
import { createStore } from '../../../store/store.js';
import { databaseUrl } from '../../../schemas/config.js';
import { createStorePool } from '../../../store/db.js';
import { cfg, createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const E = (n: string): string => `${n}${tag}`;
const system = { type: 'system', id: 'identity-workflow' } as const;
const about = (employeeId: string, action = 'test.change'): AuditEntry => ({ actor: system, action, reason: 'test', subject: { employeeId } });

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('governance');
});
afterAll(async () => {
  await t?.drop();
});

const countRecords = async (): Promise<number> => Number((await t.store.pool.query('select count(*) as n from audit_records')).rows[0].n);

function snapshot(employeeId: string, sequence: number, extra: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { employeeId, sequence, effectiveAt: '2026-01-05T09:00:00Z', status: 'active', givenName: 'Grace', familyName: 'Hopper', email: `${employeeId.toLowerCase()}@example.com`, department: 'Engineering', ...extra };
}

describe('identities', () => {
  it('a newer snapshot is stored (sealed), an older or repeated one is not, and the sequence advances with outcomes', async () => {
    const id = E('ID1');
    expect(await lastAppliedSequence(t.store.pool, id)).toBe(-1);
    const first = await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 2)), (r) => ({ ...about(id, 'identity.snapshot-stored'), changes: [{ op: 'snapshot', fields: r.changedFields }] }));
    expect(first.result).toMatchObject({ stored: true, previous: { status: null, sequence: -1 } });
    const stale = await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 1, { department: 'Sales' })), (r) => (r.stored ? about(id) : null));
    expect(stale).toMatchObject({ result: { stored: false }, record: null });
    const mover = await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 3, { department: 'Sales', title: 'Lead' })), () => about(id));
    expect(mover.result.changedFields).toEqual(['department', 'title']);

    const identity = await getIdentity(t.store.pool, t.store.keys.kek, id);
    expect(identity).toMatchObject({ status: 'active', snapshotSequence: 3, lastAppliedSequence: -1, snapshot: { department: 'Sales', givenName: 'Grace' } });
    // Personal attributes are not stored in clear.
    const { rows } = await t.store.pool.query('select attributes::text as a from identities where employee_id = $1', [id]);
    expect(rows[0].a).not.toContain(Buffer.from('Grace').toString('hex'));

    const outcome: Outcome = {
      changeId: `identity/${id}/evt-3`, employeeId: id, eventId: 'evt-3', eventType: 'hr.worker.updated', sequence: 3, status: 'succeeded',
      policyVersion: 'p1', workflowId: `identity/${id}`, steps: [{ app: 'crm', action: 'ensureAccount', outcome: 'updated', accountId: 'acc-1' }], completedAt: new Date().toISOString(),
    };
    const recorded = await t.store.change((tx) => recordOutcome(tx, outcome), (r) => (r.created ? outcomeAuditEntry(outcome) : null));
    expect(recorded.result).toEqual({ created: true, lastAppliedSequence: 3 });
    const again = await t.store.change((tx) => recordOutcome(tx, outcome), (r) => (r.created ? outcomeAuditEntry(outcome) : null));
    expect(again).toMatchObject({ result: { created: false }, record: null });
    expect(await lastAppliedSequence(t.store.pool, id)).toBe(3);
    const ignored = { ...outcome, changeId: `identity/${id}/evt-9`, eventId: 'evt-9', sequence: 9, status: 'ignored' as const, steps: [] };
    await t.store.change((tx) => recordOutcome(tx, ignored), () => outcomeAuditEntry(ignored));
    expect(await lastAppliedSequence(t.store.pool, id)).toBe(3);
    expect((await recentOutcomes(t.store.pool, id)).map((o) => o.status)).toEqual(['succeeded', 'ignored']);
  });

  it('a termination records when it took effect; a rehire clears it', async () => {
    const id = E('ID2');
    await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 1)), () => about(id));
    await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 2, { status: 'terminated', effectiveAt: '2026-02-01T17:00:00Z' })), () => about(id));
    expect((await getIdentity(t.store.pool, t.store.keys.kek, id))!.terminatedAt).toEqual(new Date('2026-02-01T17:00:00Z'));
    await t.store.change((tx) => upsertIdentity(tx, snapshot(id, 3)), () => about(id));
    expect((await getIdentity(t.store.pool, t.store.keys.kek, id))!.terminatedAt).toBeNull();
  });

  it('concurrent first sightings of one person converge on one pseudonym', async () => {
    const id = E('RACE');
    // Separate stores and connections, as separate worker processes would have.
    const stores = Array.from({ length: 8 }, () =>
      createStore({ pool: createStorePool(databaseUrl(cfg), { schema: t.schema, max: 1 }), schema: t.schema, keys: t.store.keys, ownsPool: true }));
    const results = await Promise.all(stores.map((s) => s.audit(about(id))));
    await Promise.all(stores.map((s) => s.close()));
    expect(results).toHaveLength(8);
    const { rows } = await t.store.pool.query('select count(*)::int as n from identities where employee_id = $1', [id]);
    expect(rows[0].n).toBe(1);
    const subjects = await t.store.pool.query('select count(distinct subject)::int as n from audit_records where seq = any($1::bigint[])', [results.map((r) => r.seq)]);
    expect(subjects.rows[0].n).toBe(1);
  });
});

describe('fail closed', () => {
  it('a change whose audit record cannot be written is rolled back', async () => {
    const id = E('FC1');
    const unsigned = createStore({ pool: t.store.pool, schema: t.schema, keys: { ...t.store.keys, signer: undefined } });
    const before = await countRecords();
    await expect(unsigned.change((tx) => upsertIdentity(tx, snapshot(id, 1)), () => about(id))).rejects.toThrow(/signing key/);
    expect(await getIdentity(t.store.pool, t.store.keys.kek, id)).toBeUndefined();
    // An entry that names the person in clear is refused the same way, and so is its change.
    await expect(t.store.change((tx) => upsertIdentity(tx, snapshot(id, 1)), () => ({ ...about(id), reason: `hired ${id}` }))).rejects.toThrow(TypeError);
    expect(await getIdentity(t.store.pool, t.store.keys.kek, id)).toBeUndefined();
    expect(await countRecords()).toBe(before);
  });

  it('a change that fails writes no audit record', async () => {
    const before = await countRecords();
    await expect(t.store.change(async () => { throw new Error('connector said no'); }, about(E('FC2')))).rejects.toThrow('connector said no');
    expect(await countRecords()).toBe(before);
  });

  it('a connector call is not made when its intent cannot be recorded', async () => {
    const unsigned = createStore({ pool: t.store.pool, schema: t.schema, keys: { ...t.store.keys, signer: undefined } });
    let called = false;
    const step = { key: `wf/${tag}/1/ensureAccount/crm`, intent: about(E('FC3'), 'account.ensure.requested'), done: () => about(E('FC3'), 'account.ensured') };
    await expect(unsigned.step(step, async () => { called = true; })).rejects.toThrow(/signing key/);
    expect(called).toBe(false);
  });

  it('a step records intent and result once across retries, and a failure with its error', async () => {
    const id = E('ST1');
    const key = `identity/${id}/evt-1/ensureAccount/crm`;
    const step = {
      key,
      intent: { ...about(id, 'account.ensure.requested'), changes: [{ op: 'ensureAccount', app: 'crm' }] },
      done: (r: { status: string; id: string }) => ({ ...about(id, 'account.ensured'), changes: [{ op: 'ensureAccount', app: 'crm', outcome: r.status, account: r.id }] }),
      failed: (err: unknown) => ({ ...about(id, 'account.ensure.failed'), personal: { error: String(err) } }),
    };
    await expect(t.store.step(step, async () => { throw new Error('503 from crm'); })).rejects.toThrow('503 from crm');
    expect(await t.store.step(step, async () => ({ status: 'created', id: 'acc-42' }))).toEqual({ status: 'created', id: 'acc-42' });
    await t.store.step(step, async () => ({ status: 'unchanged', id: 'acc-42' }));
    const records = await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: id, order: 'asc' });
    expect(records.map((r) => r.action)).toEqual(['account.ensure.requested', 'account.ensure.failed', 'account.ensured']);
    expect(records[1]!.personal).toEqual({ error: 'Error: 503 from crm' });
    expect(records[2]!.changes).toEqual([{ op: 'ensureAccount', app: 'crm', outcome: 'created', account: 'acc-42' }]);
  });

  it('in a batch of concurrent appends, one bad entry fails alone', async () => {
    const good = Array.from({ length: 6 }, (_, i) => t.store.audit(about(E(`B${i}`))));
    const purgedSubject = t.store.audit({ ...about(E('B0')), subject: { personId: '00000000-0000-4000-8000-000000000000' }, personal: { x: 1 } });
    await expect(purgedSubject).rejects.toThrow(/purged/);
    expect((await Promise.all(good)).every((r) => r.seq > 0)).toBe(true);
  });
});

describe('accounts, grants, approvals, policy versions', () => {
  it('accounts are recorded per application and report whether they changed', async () => {
    const id = E('AC1');
    const first = await t.store.change((tx) => recordAccount(tx, { employeeId: id, app: 'crm', accountId: 'a-1', status: 'active' }), () => about(id));
    expect(first.result).toMatchObject({ changed: true, previous: undefined });
    const same = await t.store.change((tx) => recordAccount(tx, { employeeId: id, app: 'crm', accountId: 'a-1', status: 'active' }), (r) => (r.changed ? about(id) : null));
    expect(same.record).toBeNull();
    await t.store.change((tx) => recordAccount(tx, { employeeId: id, app: 'crm', accountId: 'a-1', status: 'disabled' }), () => about(id));
    expect((await listAccounts(t.store.pool, id)).map((a) => [a.app, a.status])).toEqual([['crm', 'disabled']]);
  });

  it('grants keep provenance and expiry; a repeat converges; revocation ends them', async () => {
    const id = E('GR1');
    const grant = { employeeId: id, app: 'erp', entitlementId: 'role:ap', provenance: { kind: 'request' as const, ticketId: 'T-1', approvalId: 'A-1' }, expiresAt: new Date('2026-03-01T00:00:00Z') };
    expect((await t.store.change((tx) => addGrant(tx, grant), () => about(id))).result.result).toBe('created');
    expect((await t.store.change((tx) => addGrant(tx, grant), () => about(id))).result.result).toBe('unchanged');
    expect((await t.store.change((tx) => addGrant(tx, { ...grant, expiresAt: new Date('2026-04-01T00:00:00Z') }), () => about(id))).result.result).toBe('extended');
    await t.store.change((tx) => addGrant(tx, { employeeId: id, app: 'erp', entitlementId: 'group:all', provenance: { kind: 'birthright', ruleId: 'everyone' } }), () => about(id));
    expect((await listGrants(t.store.pool, id)).map((g) => [g.entitlementId, g.provenance])).toEqual([
      ['group:all', { kind: 'birthright', ruleId: 'everyone' }],
      ['role:ap', { kind: 'request', ticketId: 'T-1', approvalId: 'A-1' }],
    ]);
    expect((await expiredGrants(t.store.pool, new Date('2026-05-01T00:00:00Z'))).filter((g) => g.employeeId === id).map((g) => g.entitlementId)).toEqual(['role:ap']);
    const revoked = await t.store.change((tx) => revokeGrant(tx, { employeeId: id, app: 'erp', entitlementId: 'role:ap', reason: 'expired' }), () => about(id));
    expect(revoked.result).toHaveLength(1);
    expect((await listGrants(t.store.pool, id)).map((g) => g.entitlementId)).toEqual(['group:all']);
    expect((await listGrants(t.store.pool, id, { includeRevoked: true })).find((g) => g.entitlementId === 'role:ap')?.revokeReason).toBe('expired');
  });

  it('an approval cannot be decided by its beneficiary or requester; the refusal itself is audited', async () => {
    const beneficiary = E('BEN');
    const requester = E('REQ');
    const approvalId = `appr-${tag}`;
    const ctx = { workflowId: `request/${tag}`, beneficiaryId: beneficiary, requesterId: requester };
    const vote = (approverId: string, comment?: string): ApprovalEvent => ({
      kind: 'decided', approvalId, status: 'approved', approvals: 1, required: 1,
      vote: { approverId, decision: 'approved', channel: 'api', at: new Date().toISOString(), ...(comment ? { comment } : {}) },
    });
    await t.store.change((tx) => openApproval(tx, { approvalId, beneficiaryId: beneficiary, requesterId: requester, app: 'erp', entitlementId: 'role:ap', approverRule: 'manager' }), () => about(beneficiary));
    expect((await pendingApprovals(t.store.pool)).map((a) => a.approvalId)).toContain(approvalId);
    for (const self of [beneficiary, requester]) {
      const attempt = await t.store.change(
        async (tx) => {
          try {
            return await applyApprovalEvent(tx, ctx, vote(self));
          } catch (err) {
            if (err instanceof ApprovalRefusedError) return 'refused' as const;
            throw err;
          }
        },
        (r) => ({ actor: { type: 'person', employeeId: self }, action: r === 'refused' ? 'approval.refused' : 'approval.decided', reason: 'self-approval attempt', subject: { employeeId: beneficiary } }),
      );
      expect(attempt.result).toBe('refused');
    }
    // Whatever the code checks, the database refuses it too (the check on approvals.decided_by).
    const client = await t.store.pool.connect();
    try {
      await expect(client.query(
        `update approvals set status = 'approved', decided_by = person_id, decided_at = now() where approval_id = $1`,
        [approvalId],
      )).rejects.toMatchObject({ code: '23514' });
    } finally {
      client.release();
    }
    const decided = await t.store.change((tx) => applyApprovalEvent(tx, ctx, vote(E('MGR'), 'fine by me')), () => about(beneficiary));
    expect(decided.result).toEqual({ changed: true, app: 'erp', entitlementId: 'role:ap' });
    expect(await getApproval(t.store.pool, t.store.keys.kek, approvalId)).toMatchObject({ status: 'approved', decidedBy: E('MGR'), requesterId: requester, comment: 'fine by me' });
    const refusals = await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: beneficiary, order: 'asc' });
    expect(refusals.filter((r) => r.action === 'approval.refused').map((r) => r.actorEmployeeId)).toEqual([beneficiary, requester]);
  });

  it('policy versions are recorded once', async () => {
    const version = `policy-${tag}`;
    expect((await t.store.change((tx) => recordPolicyVersion(tx, { version, source: 'git:abc123' }), { actor: system, action: 'policy.loaded', reason: 'worker start' })).result.created).toBe(true);
    expect((await t.store.change((tx) => recordPolicyVersion(tx, { version, source: 'git:abc123' }), (r) => (r.created ? { actor: system, action: 'policy.loaded', reason: 'x' } : null))).record).toBeNull();
    expect((await listPolicyVersions(t.store.pool)).map((p) => p.version)).toContain(version);
  });
});

describe('audit query', () => {
  it('filters by employee, application, actor and time range, and the chain verifies', async () => {
    const id = E('Q1');
    const from = new Date(Date.now() - 1000);
    await t.store.audit({ actor: { type: 'person', employeeId: E('OPS') }, action: 'grant.added', reason: 'exception granted', subject: { employeeId: id }, changes: [{ op: 'grant', app: 'vault', entitlement: 'admin' }] });
    await t.store.audit({ actor: system, action: 'grant.added', reason: 'birthright', subject: { employeeId: id }, changes: [{ op: 'grant', app: 'wiki', entitlement: 'reader' }] });
    const kek = t.store.keys.kek;
    expect((await queryAudit(t.store.pool, kek, { employeeId: id })).map((r) => r.changes[0]?.app)).toEqual(['wiki', 'vault']);
    expect((await queryAudit(t.store.pool, kek, { employeeId: id, app: 'vault' })).map((r) => r.reason)).toEqual(['exception granted']);
    expect((await queryAudit(t.store.pool, kek, { actor: E('OPS') })).map((r) => [r.actorEmployeeId, r.subjectEmployeeId])).toEqual([[E('OPS'), id]]);
    expect((await queryAudit(t.store.pool, kek, { actor: 'system:identity-workflow', employeeId: id })).length).toBe(1);
    expect(await queryAudit(t.store.pool, kek, { employeeId: id, to: from })).toEqual([]);
    expect((await queryAudit(t.store.pool, kek, { employeeId: id, from })).length).toBe(2);
    expect(await queryAudit(t.store.pool, kek, { employeeId: 'NOBODY' })).toEqual([]);
    // Without the key-encryption key, records show pseudonyms only.
    const blind = await queryAudit(t.store.pool, undefined, { app: 'vault' });
    expect(blind[0]).toMatchObject({ sealedUnreadable: true });
    expect(blind[0]!.subjectEmployeeId).toBeUndefined();

    expect(await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier })).toMatchObject({ ok: true });
  });
});
