// Approval gates in the store: the events the workflows' gates emit (driven here by the real pure
// module) become approvals, votes and audit records; a repeat changes nothing and appends nothing,
// self-approval is refused, comments are sealed, and the chain verifies afterwards.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, drain, openGate, tick, withdraw, type ApprovalEvent, type ChainSpec, type Gate } from '../../../policy/approval-chain.js';
import { applyApprovalEvent, getApprovalWithVotes, listApprovals, pendingApprovalsFor, recordApprovalEvents, type ApprovalContext } from '../../../store/approval-gates.js';
import { ApprovalRefusedError, getApproval } from '../../../store/approvals.js';
import { queryAudit } from '../../../store/audit-query.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { addGrant, endRequestGrants, expiredGrants, listGrants } from '../../../store/grants.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const E = (n: string): string => `${n}${tag}`;
const T0 = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('approval_gates');
});
afterAll(async () => {
  await t?.drop();
});

const countRecords = async (): Promise<number> => Number((await t.store.pool.query('select count(*) as n from audit_records')).rows[0].n);

function chain(overrides: Partial<ChainSpec> = {}): ChainSpec {
  return {
    entitlement: 'erp:role:payments',
    rule: 'payments-approvers',
    reason: 'entitlement',
    mode: 'any-of',
    required: 1,
    slots: [{ label: 'manager', eligible: [E('MGR')] }],
    timeoutMs: 72 * HOUR,
    onTimeout: 'reject',
    ...overrides,
  };
}

/** A request's gate, and its context as the access request workflow records it. */
function requestGate(ticket: string, chains: ChainSpec[]): { gate: Gate; ctx: ApprovalContext } {
  const ticketId = E(ticket);
  const ctx: ApprovalContext = { workflowId: `request/${ticketId}`, beneficiaryId: E('BEN'), requesterId: E('REQ'), ticketId, policyVersion: 'policy-1' };
  return { gate: openGate({ idPrefix: `req-${ticketId}`, beneficiaryId: ctx.beneficiaryId, requesterId: ctx.requesterId!, chains }, T0), ctx };
}

const record = (ctx: ApprovalContext, gate: Gate): Promise<number> => recordApprovalEvents(t.store, ctx, drain(gate));

describe('approval gates in the store', () => {
  it('open → vote → approved: the approval, its vote and one audit record per event', async () => {
    const { gate, ctx } = requestGate('T1', [chain()]);
    expect(await record(ctx, gate)).toBe(1);
    const approvalId = `req-${ctx.ticketId}.1.1`;
    expect(await getApproval(t.store.pool, t.store.keys.kek, approvalId)).toMatchObject({
      status: 'pending', beneficiaryId: ctx.beneficiaryId, requesterId: ctx.requesterId, ticketId: ctx.ticketId, app: 'erp', entitlementId: 'role:payments',
      approverRule: 'payments-approvers', workflowId: ctx.workflowId, stage: 0, mode: 'any-of', required: 1, eligible: [E('MGR')], escalated: false,
    });

    decide(gate, { approvalId, approverId: E('MGR'), decision: 'approved', comment: 'ok for the quarter close', channel: 'itsm', eventId: E('evt-1') }, T0 + HOUR);
    expect(gate.status).toBe('approved');
    expect(await record(ctx, gate)).toBe(1);

    const stored = await getApprovalWithVotes(t.store.pool, t.store.keys.kek, approvalId);
    expect(stored).toMatchObject({ status: 'approved', decidedBy: E('MGR'), comment: 'ok for the quarter close' });
    expect(stored!.decidedAt!.toISOString()).toBe(new Date(T0 + HOUR).toISOString());
    expect(stored!.votes).toEqual([
      { approverId: E('MGR'), decision: 'approved', channel: 'itsm', eventId: E('evt-1'), decidedAt: new Date(T0 + HOUR), comment: 'ok for the quarter close' },
    ]);

    const audit = await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: ctx.beneficiaryId, order: 'asc' });
    const mine = audit.filter((r) => r.personal?.['approvalId'] === approvalId);
    expect(mine.map((r) => r.action)).toEqual(['approval.opened', 'approval.approved']);
    expect(mine[1]).toMatchObject({
      actorEmployeeId: E('MGR'), reason: `approved ${approvalId} (1 of 1) via itsm: approved`, eventId: E('evt-1'), workflowId: ctx.workflowId, policyVersion: 'policy-1',
      changes: [{ op: 'approval', app: 'erp', entitlement: 'role:payments', outcome: 'approved' }], personal: { approvalId, comment: 'ok for the quarter close' },
    });
  });

  it('n-of-m: each vote is recorded, and the approval is decided by the vote that reaches the count', async () => {
    const slots = [{ label: 'owner-a', eligible: [E('OWA')] }, { label: 'owner-b', eligible: [E('OWB')] }, { label: 'owner-c', eligible: [E('OWC')] }];
    const { gate, ctx } = requestGate('T2', [chain({ mode: 'n-of-m', required: 2, slots })]);
    await record(ctx, gate);
    const approvalId = `req-${ctx.ticketId}.1.1`;

    decide(gate, { approvalId, approverId: E('OWA'), decision: 'approved', channel: 'api' }, T0 + HOUR);
    expect(await record(ctx, gate)).toBe(1);
    expect(await getApprovalWithVotes(t.store.pool, t.store.keys.kek, approvalId)).toMatchObject({ status: 'pending', decidedBy: null, votes: [{ approverId: E('OWA') }] });
    // The one who voted no longer sees it; the others still do.
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('OWA'))).map((a) => a.approvalId)).not.toContain(approvalId);
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('OWB'))).toMatchObject([{ approvalId, votes: 1, required: 2, mode: 'n-of-m', workflowId: ctx.workflowId }]);

    decide(gate, { approvalId, approverId: E('OWC'), decision: 'approved', channel: 'api' }, T0 + 2 * HOUR);
    expect(await record(ctx, gate)).toBe(1);
    const stored = await getApprovalWithVotes(t.store.pool, t.store.keys.kek, approvalId);
    expect(stored).toMatchObject({ status: 'approved', decidedBy: E('OWC') });
    expect(stored!.votes.map((v) => v.approverId)).toEqual([E('OWA'), E('OWC')]);
    const reasons = (await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: ctx.beneficiaryId, order: 'asc' }))
      .filter((r) => r.personal?.['approvalId'] === approvalId && r.action === 'approval.approved').map((r) => r.reason);
    expect(reasons).toEqual([`approved ${approvalId} (1 of 2) via api`, `approved ${approvalId} (2 of 2) via api: approved`]);
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('OWB'))).toEqual([]);
  });

  it('when a batch of events is recorded again, nothing changes and no second audit record is appended', async () => {
    const { gate, ctx } = requestGate('T3', [chain({ reminderMs: HOUR, escalation: { afterMs: 2 * HOUR, slot: { label: 'security', eligible: [E('SEC')] } } })]);
    const approvalId = `req-${ctx.ticketId}.1.1`;
    const events: ApprovalEvent[] = [...drain(gate)];
    tick(gate, T0 + 3 * HOUR);
    decide(gate, { approvalId, approverId: E('SEC'), decision: 'rejected', comment: 'not without training', channel: 'api' }, T0 + 4 * HOUR);
    events.push(...drain(gate));
    expect(events.map((e) => e.kind)).toEqual(['opened', 'reminded', 'escalated', 'decided']);

    expect(await recordApprovalEvents(t.store, ctx, events)).toBe(4);
    const before = await countRecords();
    const stored = await getApproval(t.store.pool, t.store.keys.kek, approvalId);
    expect(stored).toMatchObject({ status: 'rejected', decidedBy: E('SEC'), escalated: true, eligible: [E('MGR'), E('SEC')] });
    expect(stored!.remindedAt).not.toBeNull();

    expect(await recordApprovalEvents(t.store, ctx, events)).toBe(0);
    expect(await countRecords()).toBe(before);
    expect(await getApproval(t.store.pool, t.store.keys.kek, approvalId)).toEqual(stored);
    // Each event also on its own, as a retried activity of one event would.
    for (const event of events) {
      const { result, record: appended } = await t.store.change((tx) => applyApprovalEvent(tx, ctx, event), () => null);
      expect({ kind: event.kind, changed: result.changed, appended }).toEqual({ kind: event.kind, changed: false, appended: null });
    }
    const actions = (await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: ctx.beneficiaryId, order: 'asc' }))
      .filter((r) => r.personal?.['approvalId'] === approvalId).map((r) => r.action);
    expect(actions).toEqual(['approval.opened', 'approval.reminded', 'approval.escalated', 'approval.rejected']);
  });

  it('a vote by the beneficiary or the requester is refused, and nothing of it is stored', async () => {
    const { gate, ctx } = requestGate('T4', [chain({ slots: [{ label: 'anyone', eligible: [E('MGR'), E('BEN'), E('REQ')] }] })]);
    await record(ctx, gate);
    const approvalId = `req-${ctx.ticketId}.1.1`;
    const before = await countRecords();
    for (const self of [ctx.beneficiaryId, ctx.requesterId!]) {
      const vote: ApprovalEvent = { kind: 'decided', approvalId, vote: { approverId: self, decision: 'approved', channel: 'api', at: new Date(T0).toISOString() }, status: 'approved', approvals: 1, required: 1 };
      await expect(recordApprovalEvents(t.store, ctx, [vote])).rejects.toBeInstanceOf(ApprovalRefusedError);
      // Even when the caller's context omits who asked, the approval row knows.
      await expect(recordApprovalEvents(t.store, { workflowId: ctx.workflowId, beneficiaryId: E('OTHER') }, [vote])).rejects.toBeInstanceOf(ApprovalRefusedError);
    }
    expect(await countRecords()).toBe(before);
    expect(await getApprovalWithVotes(t.store.pool, t.store.keys.kek, approvalId)).toMatchObject({ status: 'pending', votes: [] });
    // The database refuses it too, whatever the code above checked.
    await expect(t.store.pool.query(
      `insert into approval_votes (approval_id, approver, decision, channel, decided_at)
       select approval_id, requester_id, 'approved', 'api', now() from approvals where approval_id = $1`,
      [approvalId],
    )).rejects.toMatchObject({ code: '23514' });
  });

  it('withdrawn and expired approvals close with their reason, and leave the pending lists', async () => {
    const w = requestGate('T5', [chain({ slots: [{ label: 'manager', eligible: [E('MGW')] }] })]);
    await record(w.ctx, w.gate);
    const e = requestGate('T6', [chain({ slots: [{ label: 'manager', eligible: [E('MGW')] }] })]);
    await record(e.ctx, e.gate);
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('MGW'))).map((a) => a.approvalId)).toEqual([`req-${w.ctx.ticketId}.1.1`, `req-${e.ctx.ticketId}.1.1`]);

    withdraw(w.gate, 'superseded by a newer ticket', T0 + HOUR);
    tick(e.gate, T0 + 73 * HOUR);
    expect(await record(w.ctx, w.gate)).toBe(1);
    expect(await record(e.ctx, e.gate)).toBe(1);

    expect(await getApproval(t.store.pool, t.store.keys.kek, `req-${w.ctx.ticketId}.1.1`)).toMatchObject({ status: 'withdrawn', reason: 'superseded by a newer ticket', decidedBy: null });
    expect(await getApproval(t.store.pool, t.store.keys.kek, `req-${e.ctx.ticketId}.1.1`)).toMatchObject({ status: 'expired', reason: expect.stringContaining('was not decided by its deadline') });
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('MGW'))).toEqual([]);
    const actions = (await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: E('BEN'), order: 'asc' })).map((r) => r.action);
    expect(actions).toContain('approval.withdrawn');
    expect(actions).toContain('approval.expired');
    expect((await listApprovals(t.store.pool, t.store.keys.kek, { ticketId: w.ctx.ticketId })).map((a) => a.status)).toEqual(['withdrawn']);
    expect((await listApprovals(t.store.pool, t.store.keys.kek, { status: 'expired', beneficiaryId: E('BEN') })).map((a) => a.ticketId)).toContain(e.ctx.ticketId);
  });

  it('the pending list excludes the beneficiary, the requester and decided approvals, oldest first', async () => {
    const { gate, ctx } = requestGate('T7', [chain({ slots: [{ label: 'group', eligible: [E('BEN'), E('REQ'), E('PEER')] }] })]);
    await record(ctx, gate);
    const approvalId = `req-${ctx.ticketId}.1.1`;
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('PEER'))).map((a) => a.approvalId)).toEqual([approvalId]);
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('BEN'))).map((a) => a.approvalId)).not.toContain(approvalId);
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('REQ'))).map((a) => a.approvalId)).not.toContain(approvalId);
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('NOBODY')))).toEqual([]);
    decide(gate, { approvalId, approverId: E('PEER'), decision: 'approved', channel: 'api' }, T0 + HOUR);
    await record(ctx, gate);
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, E('PEER'))).toEqual([]);
  });

  it('an identity gate: its approval ids name the person, yet no audit record names them in clear', async () => {
    const employeeId = E('NEWHIRE');
    const ctx: ApprovalContext = { workflowId: `identity/${employeeId}`, beneficiaryId: employeeId };
    const gate = openGate({ idPrefix: `idn-${employeeId}-1`, beneficiaryId: employeeId, chains: [chain({ mode: 'sequential', slots: [{ label: 'manager', eligible: [E('MGI')] }, { label: 'owner', eligible: [E('OWI')] }] })] }, T0);
    decide(gate, { approvalId: `idn-${employeeId}-1.1.1`, approverId: E('MGI'), decision: 'approved', channel: 'api' }, T0 + HOUR);
    expect(await record(ctx, gate)).toBe(3);
    expect((await getApproval(t.store.pool, t.store.keys.kek, `idn-${employeeId}-1.1.2`))).toMatchObject({ status: 'pending', stage: 1, mode: 'sequential' });
    const { rows } = await t.store.pool.query<{ body: string }>(`select body from audit_records where action like 'approval.%'`);
    expect(rows.filter((r) => r.body.includes(employeeId))).toEqual([]);
    const reasons = (await queryAudit(t.store.pool, t.store.keys.kek, { employeeId, order: 'asc' })).map((r) => r.reason);
    expect(reasons[0]).toMatch(/^opened idn-\(beneficiary\)-1\.1\.1: payments-approvers \(sequential, stage 1\)/);
  });

  it('a comment is sealed under the beneficiary key: not in clear in the tables, readable back', async () => {
    const secret = `Lovelace${tag} may approve this only for the audit`;
    const { gate, ctx } = requestGate('T8', [chain()]);
    const approvalId = `req-${ctx.ticketId}.1.1`;
    decide(gate, { approvalId, approverId: E('MGR'), decision: 'approved', comment: secret, channel: 'api' }, T0 + HOUR);
    await record(ctx, gate);
    const { rows } = await t.store.pool.query<{ v: string; a: string }>(
      `select v.comment::text as v, a.comment::text as a from approval_votes v join approvals a using (approval_id) where approval_id = $1`,
      [approvalId],
    );
    const hex = Buffer.from(secret).toString('hex');
    expect(rows).toHaveLength(1);
    for (const column of [rows[0]!.v, rows[0]!.a]) {
      expect(column).not.toContain(hex);
      expect(column).not.toContain(secret);
    }
    const bodies = await t.store.pool.query<{ body: string }>('select body from audit_records');
    expect(bodies.rows.some((r) => r.body.includes(`Lovelace${tag}`))).toBe(false);
    expect((await getApprovalWithVotes(t.store.pool, t.store.keys.kek, approvalId))!.votes[0]!.comment).toBe(secret);
    // Without the key-encryption key, the comment stays closed.
    expect((await getApprovalWithVotes(t.store.pool, undefined, approvalId))!.votes[0]!.comment).toBeUndefined();
  });
});

describe('request grants', () => {
  it('a request grant converges on repeat; a revoke request brings its end forward once, never back', async () => {
    const employeeId = E('GRANTEE');
    const provenance = { kind: 'request', ticketId: E('T9'), approvalId: `req-${E('T9')}.1.1` } as const;
    const expiresAt = new Date('2026-06-30T00:00:00Z');
    const add = () => t.store.change((tx) => addGrant(tx, { employeeId, app: 'erp', entitlementId: 'role:payments', provenance, expiresAt, policyVersion: 'policy-1' }), () => null);
    expect((await add()).result.result).toBe('created');
    expect((await add()).result.result).toBe('unchanged');
    await t.store.change((tx) => addGrant(tx, { employeeId, app: 'erp', entitlementId: 'role:reports', provenance: { kind: 'request', ticketId: E('T10') } }), () => null);
    await t.store.change((tx) => addGrant(tx, { employeeId, app: 'erp', entitlementId: 'role:payments', provenance: { kind: 'birthright', ruleId: 'finance' } }), () => null);
    expect(await listGrants(t.store.pool, employeeId)).toEqual(expect.arrayContaining([expect.objectContaining({ entitlementId: 'role:payments', provenance, expiresAt })]));

    const at = new Date('2026-04-01T12:00:00Z');
    const end = (when: Date) => t.store.change((tx) => endRequestGrants(tx, { employeeId, app: 'erp', entitlementId: 'role:payments', at: when, reason: `revoke requested in ticket ${E('T11')}` }), () => null);
    const ended = (await end(at)).result;
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ provenance, expiresAt: at, revokedAt: null, revokeReason: `revoke requested in ticket ${E('T11')}` });
    // A retry (a later `at`) moves nothing and reports nothing.
    expect((await end(new Date(at.getTime() + HOUR))).result).toEqual([]);
    const grants = await listGrants(t.store.pool, employeeId);
    expect(grants.find((g) => g.provenance.kind === 'request' && g.entitlementId === 'role:payments')!.expiresAt).toEqual(at);
    // The birthright grant and the other entitlement's request grant are untouched.
    expect(grants.find((g) => g.provenance.kind === 'birthright')!.expiresAt).toBeNull();
    expect(grants.find((g) => g.entitlementId === 'role:reports')!.expiresAt).toBeNull();
    // The planner sees it expired.
    expect((await expiredGrants(t.store.pool, new Date(at.getTime() + 1))).filter((g) => g.employeeId === employeeId).map((g) => g.entitlementId)).toEqual(['role:payments']);
    // A request grant with no end gets one.
    expect((await t.store.change((tx) => endRequestGrants(tx, { employeeId, app: 'erp', entitlementId: 'role:reports', at, reason: 'revoke requested' }), () => null)).result).toMatchObject([{ expiresAt: at }]);
  });
});

describe('the audit chain', () => {
  it('verifies after all of the above', async () => {
    expect(await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier })).toMatchObject({ ok: true });
  });
});
