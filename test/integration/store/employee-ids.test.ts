// Employee ids in the store compare case-insensitively wherever a person acts on their own record
// (policy/employee-ids.ts): an approver or requester whose id arrives as `e1001` is the person HR
// sent as `E1001`: one pseudonym, their grants, their pending approvals, and no self-approval.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain, openGate, type ApprovalEvent } from '../../../policy/approval-chain.js';
import { pendingApprovalsFor, recordApprovalEvents, type ApprovalContext } from '../../../store/approval-gates.js';
import { ApprovalRefusedError } from '../../../store/approvals.js';
import type { AuditEntry } from '../../../store/audit-record.js';
import { endRequestGrants, addGrant, listGrants } from '../../../store/grants.js';
import { upsertIdentity } from '../../../store/identities.js';
import { ensurePerson, findPersonId } from '../../../store/person-keys.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const E = (n: string): string => `${n}${tag}`;
const lower = (id: string) => id.toLowerCase();
const about = (employeeId: string): AuditEntry => ({ actor: { type: 'system', id: 'identity-workflow' }, action: 'test.change', reason: 'test', subject: { employeeId } });

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('employee_ids');
  for (const id of [E('BEN'), E('MGR')]) {
    await t.store.change((tx) => upsertIdentity(tx, { employeeId: id, sequence: 1, effectiveAt: '2026-01-05T09:00:00Z', status: 'active' }), () => about(id));
  }
});
afterAll(async () => {
  await t?.drop();
});

describe('employee ids in the store, in any letter case', () => {
  it('name one person: no second pseudonym for a lower-case id', async () => {
    const personId = await findPersonId(t.store.pool, E('BEN'));
    expect(personId).toBeDefined();
    expect(await findPersonId(t.store.pool, lower(E('BEN')))).toBe(personId);
    expect(await t.store.change((tx) => ensurePerson(tx.client, tx.kek, lower(E('BEN'))), () => null)).toMatchObject({ result: { personId, created: false } });
    const { rows } = await t.store.pool.query('select count(*)::int as n from identities where upper(employee_id) = upper($1)', [E('BEN')]);
    expect(rows[0].n).toBe(1);
    expect(await findPersonId(t.store.pool, E('NOBODY'))).toBeUndefined();
  });

  it('find the person\'s request grants, and end them, whatever case the ITSM sends', async () => {
    await t.store.change((tx) => addGrant(tx, { employeeId: lower(E('BEN')), app: 'erp', entitlementId: 'role:reports', provenance: { kind: 'request', ticketId: E('T1') } }), () => null);
    expect((await listGrants(t.store.pool, E('BEN'))).map((g) => g.entitlementId)).toEqual(['role:reports']);
    const ended = await t.store.change((tx) => endRequestGrants(tx, { employeeId: lower(E('BEN')), app: 'erp', entitlementId: 'role:reports', at: new Date(), reason: 'test' }), () => null);
    expect(ended.result).toHaveLength(1);
  });

  it('list an approver\'s pending approvals by their token\'s id, never the beneficiary\'s own, and refuse self-approval', async () => {
    const ticketId = E('T2');
    const ctx: ApprovalContext = { workflowId: `request/${ticketId}`, beneficiaryId: E('BEN'), requesterId: E('MGR'), ticketId, policyVersion: 'p1' };
    const gate = openGate({
      idPrefix: `req-${ticketId}`, beneficiaryId: ctx.beneficiaryId, requesterId: E('REQ'),
      chains: [{ entitlement: 'erp:role:payments', rule: 'r', reason: 'entitlement', mode: 'any-of', required: 1, slots: [{ label: 'anyone', eligible: [E('APP'), E('BEN')] }], timeoutMs: 3_600_000, onTimeout: 'reject' }],
    }, Date.now());
    await recordApprovalEvents(t.store, { ...ctx, requesterId: E('REQ') }, drain(gate));
    const approvalId = `req-${ticketId}.1.1`;
    expect((await pendingApprovalsFor(t.store.pool, t.store.keys.kek, lower(E('APP')))).map((a) => a.approvalId)).toEqual([approvalId]);
    // The beneficiary is eligible by the group, but never decides their own access, in any case.
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, lower(E('BEN')))).toEqual([]);
    expect(await pendingApprovalsFor(t.store.pool, t.store.keys.kek, lower(E('REQ')))).toEqual([]);
    for (const self of [lower(E('BEN')), lower(E('REQ'))]) {
      const vote: ApprovalEvent = { kind: 'decided', approvalId, vote: { approverId: self, decision: 'approved', channel: 'api', at: new Date().toISOString() }, status: 'approved', approvals: 1, required: 1 };
      await expect(recordApprovalEvents(t.store, { ...ctx, requesterId: E('REQ') }, [vote])).rejects.toBeInstanceOf(ApprovalRefusedError);
    }
  });
});
