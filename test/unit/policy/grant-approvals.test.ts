// A request grant against the approvals the store recorded for its ticket (policy/grant-approvals.ts):
// what a forged `accessGranted` signal lacks, and what a real request's grant has.
import { describe, expect, it } from 'vitest';
import { grantApprovalProblem, type GrantToCheck, type RecordedApproval } from '../../../policy/grant-approvals.js';
import { compiled } from './fixtures.js';

const policy = compiled({
  'vault.yaml': `approvals:
  - { id: chain, mode: sequential, approvers: [manager, app-owner], timeout: P3D }
  - { id: pair, mode: n-of-m, approvers: [app-owner, "group:finance-leads"], required: 2, timeout: P3D }
applications:
  - id: vault
    connector: scim
    config: vault
    owner: owners
    classification: restricted
    entitlements:
      - { id: root, approval: chain }
      - { id: payouts, approval: pair }
      - { id: reader }
`,
});

const grant = (over: Partial<GrantToCheck> = {}): GrantToCheck => ({ employeeId: 'E1', ticketId: 'T1', requesterId: 'E1', app: 'vault', entitlementId: 'root', approvalIds: ['req-T1.1.1', 'req-T1.1.2'], ...over });
const approval = (stage: number, over: Partial<RecordedApproval> = {}): RecordedApproval => ({
  approvalId: `req-T1.1.${stage + 1}`,
  workflowId: 'request/T1',
  beneficiaryId: 'E1',
  requesterId: 'E1',
  app: 'vault',
  entitlementId: 'root',
  approverRule: 'chain',
  status: 'approved',
  stage,
  required: 1,
  eligible: stage === 0 ? ['M1'] : ['O1', 'O2'],
  votes: [{ approverId: stage === 0 ? 'M1' : 'o2', decision: 'approved' }],
  ...over,
});
const both = [approval(0), approval(1)];

describe('a request grant against the recorded approvals of its ticket', () => {
  it('passes when the ticket was assessed and every stage its rule needs was approved by eligible people', () => {
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: both })).toBeUndefined();
    // An entitlement without an approval rule needs only its assessment.
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [] }), { assessed: true, approvals: [] })).toBeUndefined();
  });

  it('refuses a ticket no access request assessed (a signal sent straight to the workflow), even for an entitlement that needs no approval', () => {
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [] }), { assessed: false, approvals: [] })).toBe(
      'no access request for vault:reader was assessed under ticket T1: the grant did not come from its access request',
    );
  });

  it('refuses a grant whose approvals are missing, undecided, rejected or not the ones it names', () => {
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: [] })).toBe('approval req-T1.1.1, which the grant names, is not recorded as approved for ticket T1');
    expect(grantApprovalProblem(policy, grant({ approvalIds: [] }), { assessed: true, approvals: [] })).toBe('vault:root needs approval chain (stage 1 of 2), and the store holds none approved for ticket T1');
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: [approval(0)] })).toBe('approval req-T1.1.2, which the grant names, is not recorded as approved for ticket T1');
    expect(grantApprovalProblem(policy, grant({ approvalIds: ['req-T1.1.1'] }), { assessed: true, approvals: [approval(0)] })).toBe('vault:root needs approval chain (stage 2 of 2), and the store holds none approved for ticket T1');
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: [approval(0), approval(1, { status: 'pending', votes: [] })] })).toBe('approval req-T1.1.2 of ticket T1 is pending, not approved');
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: [approval(0), approval(1, { status: 'rejected' })] })).toBe('approval req-T1.1.2 of ticket T1 is rejected, not approved');
  });

  it('refuses approvals of the ticket recorded for another person or entitlement', () => {
    expect(grantApprovalProblem(policy, grant({ employeeId: 'E2', requesterId: 'E2' }), { assessed: true, approvals: both })).toBe('approval req-T1.1.1 of ticket T1 is for another person or entitlement than vault:root');
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'payouts' }), { assessed: true, approvals: both })).toMatch(/for another person or entitlement than vault:payouts/);
  });

  it('refuses an approval without enough approving votes from eligible people other than the beneficiary and the requester', () => {
    const ineligible = [approval(0, { votes: [{ approverId: 'X9', decision: 'approved' }] }), approval(1)];
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: ineligible })).toBe('approval req-T1.1.1 of ticket T1 has 0 approving vote(s) from eligible approvers, and needs 1');
    const self = [approval(0, { eligible: ['M1', 'E1'], votes: [{ approverId: 'e1', decision: 'approved' }] }), approval(1)];
    expect(grantApprovalProblem(policy, grant(), { assessed: true, approvals: self })).toMatch(/req-T1.1.1 of ticket T1 has 0 approving vote/);
    const pair = (votes: RecordedApproval['votes']) => [approval(0, { approvalId: 'req-T1.1.1', entitlementId: 'payouts', approverRule: 'pair', required: 2, eligible: ['F1', 'F2'], votes })];
    const payouts = grant({ entitlementId: 'payouts', approvalIds: ['req-T1.1.1'] });
    expect(grantApprovalProblem(policy, payouts, { assessed: true, approvals: pair([{ approverId: 'F1', decision: 'approved' }, { approverId: 'f1', decision: 'approved' }]) })).toBe('approval req-T1.1.1 of ticket T1 has 1 approving vote(s) from eligible approvers, and needs 2');
    expect(grantApprovalProblem(policy, payouts, { assessed: true, approvals: pair([{ approverId: 'F1', decision: 'approved' }, { approverId: 'F2', decision: 'approved' }]) })).toBeUndefined();
  });

  it('refuses an entitlement the policy does not have', () => {
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'gone' }), { assessed: true, approvals: both })).toBe(`vault:gone is not an entitlement of policy ${policy.version}`);
  });
});
