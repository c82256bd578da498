// A request grant against the approvals the store recorded for its ticket (policy/grant-approvals.ts):
// what a forged `accessGranted` signal lacks, and what a real request's grant has.
import { describe, expect, it } from 'vitest';
import { grantApprovalProblem, GRANT_EXPIRY_SLACK_MS, type GrantToCheck, type RecordedApproval, type RecordedRequest } from '../../../policy/grant-approvals.js';
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

/** What the store holds: the assessment (an older record: no chains, no duration), every approving vote verified by the API or the ITSM ingress, no grant of the ticket yet. */
const rec = (approvals: RecordedApproval[], over: Partial<RecordedRequest> = {}): RecordedRequest => ({
  assessment: { at: '2026-01-01T00:00:00.000Z', requesterId: 'E1' },
  approvals,
  verified: approvals.flatMap((a) => a.votes.flatMap((v) => (v.approverId && v.decision === 'approved' ? [{ approvalId: a.approvalId, approverId: v.approverId, decision: v.decision }] : []))),
  grantsOfTicket: 0,
  ...over,
});

describe('a request grant against the recorded approvals of its ticket', () => {
  it('passes when the ticket was assessed and every stage its rule needs was approved by eligible people', () => {
    expect(grantApprovalProblem(policy, grant(), rec(both))).toBeUndefined();
    // An entitlement without an approval rule needs only its assessment.
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [] }), rec([]))).toBeUndefined();
  });

  it('refuses a ticket no access request assessed (a signal sent straight to the workflow), even for an entitlement that needs no approval', () => {
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [] }), rec([], { assessment: undefined }))).toBe(
      'no access request for vault:reader was assessed under ticket T1: the grant did not come from its access request',
    );
  });

  it('refuses a grant whose approvals are missing, undecided, rejected or not the ones it names', () => {
    expect(grantApprovalProblem(policy, grant(), rec([]))).toBe('approval req-T1.1.1, which the grant names, is not recorded as approved for ticket T1');
    expect(grantApprovalProblem(policy, grant({ approvalIds: [] }), rec([]))).toBe('vault:root needs approval chain (stage 1 of 2), and the store holds none approved for ticket T1');
    expect(grantApprovalProblem(policy, grant(), rec([approval(0)]))).toBe('approval req-T1.1.2, which the grant names, is not recorded as approved for ticket T1');
    expect(grantApprovalProblem(policy, grant({ approvalIds: ['req-T1.1.1'] }), rec([approval(0)]))).toBe('vault:root needs approval chain (stage 2 of 2), and the store holds none approved for ticket T1');
    expect(grantApprovalProblem(policy, grant(), rec([approval(0), approval(1, { status: 'pending', votes: [] })]))).toBe('approval req-T1.1.2 of ticket T1 is pending, not approved');
    expect(grantApprovalProblem(policy, grant(), rec([approval(0), approval(1, { status: 'rejected' })]))).toBe('approval req-T1.1.2 of ticket T1 is rejected, not approved');
  });

  it('refuses approvals of the ticket recorded for another person or entitlement', () => {
    expect(grantApprovalProblem(policy, grant({ employeeId: 'E2' }), rec(both))).toBe('approval req-T1.1.1 of ticket T1 is for another person or entitlement than vault:root');
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'payouts' }), rec(both))).toMatch(/for another person or entitlement than vault:payouts/);
  });

  it('refuses an approval without enough approving votes from eligible people other than the beneficiary and the requester', () => {
    const ineligible = [approval(0, { votes: [{ approverId: 'X9', decision: 'approved' }] }), approval(1)];
    expect(grantApprovalProblem(policy, grant(), rec(ineligible))).toBe('approval req-T1.1.1 of ticket T1 has 0 approving vote(s) from eligible approvers, and needs 1');
    const self = [approval(0, { eligible: ['M1', 'E1'], votes: [{ approverId: 'e1', decision: 'approved' }] }), approval(1)];
    expect(grantApprovalProblem(policy, grant(), rec(self))).toMatch(/req-T1.1.1 of ticket T1 has 0 approving vote/);
    const pair = (votes: RecordedApproval['votes']) => [approval(0, { approvalId: 'req-T1.1.1', entitlementId: 'payouts', approverRule: 'pair', required: 2, eligible: ['F1', 'F2'], votes })];
    const payouts = grant({ entitlementId: 'payouts', approvalIds: ['req-T1.1.1'] });
    expect(grantApprovalProblem(policy, payouts, rec(pair([{ approverId: 'F1', decision: 'approved' }, { approverId: 'f1', decision: 'approved' }])))).toBe('approval req-T1.1.1 of ticket T1 has 1 approving vote(s) from eligible approvers, and needs 2');
    expect(grantApprovalProblem(policy, payouts, rec(pair([{ approverId: 'F1', decision: 'approved' }, { approverId: 'F2', decision: 'approved' }])))).toBeUndefined();
  });

  it('refuses an entitlement the policy does not have', () => {
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'gone' }), rec(both))).toBe(`vault:gone is not an entitlement of policy ${policy.version}`);
  });

  it('refuses a vote no receiver verified: one sent straight to the workflow as a Temporal update', () => {
    // The manager's vote on stage 1 reached the workflow without the API or the ITSM ingress recording that it verified it.
    const unverified = rec(both, { verified: rec(both).verified.filter((d) => d.approvalId !== 'req-T1.1.1') });
    expect(grantApprovalProblem(policy, grant(), unverified)).toBe(
      'approval req-T1.1.1 of ticket T1 has 0 approving vote(s) the API or the ITSM ingress verified, and needs 1: a vote sent straight to the workflow does not count',
    );
    // Verified for another decision or another approval: still not this vote.
    const rejectedOnly = rec(both, { verified: [{ approvalId: 'req-T1.1.1', approverId: 'M1', decision: 'rejected' }, { approvalId: 'req-T1.1.2', approverId: 'O2', decision: 'approved' }] });
    expect(grantApprovalProblem(policy, grant(), rejectedOnly)).toMatch(/^approval req-T1.1.1 of ticket T1 has 0 approving vote\(s\) the API or the ITSM ingress verified/);
    // The verified record's employee id in another letter case is the same person.
    const otherCase = rec(both, { verified: [{ approvalId: 'req-T1.1.1', approverId: 'm1', decision: 'approved' }, { approvalId: 'req-T1.1.2', approverId: 'O2', decision: 'approved' }] });
    expect(grantApprovalProblem(policy, grant(), otherCase)).toBeUndefined();
  });

  it('refuses a second grant of a ticket, live or ended: a replay after a revoke or the expiry does not grant again', () => {
    expect(grantApprovalProblem(policy, grant(), rec(both, { grantsOfTicket: 1 }))).toBe('ticket T1 already brought a grant of vault:root (live or ended): a ticket grants once');
  });

  it('refuses a grant that names another requester than the assessment or the approvals recorded', () => {
    expect(grantApprovalProblem(policy, grant({ requesterId: 'E7' }), rec(both))).toBe('the grant names another requester than the one ticket T1 was assessed for');
    const older = rec(both.map((a) => ({ ...a, requesterId: 'E3' })), { assessment: { at: '2026-01-01T00:00:00.000Z' } });
    expect(grantApprovalProblem(policy, grant(), older)).toBe('approval req-T1.1.1 of ticket T1 was asked for by another requester than the grant names');
  });

  it('bounds the end by the approved duration from the last approving vote, with a small slack', () => {
    const DAY = 86_400_000;
    const assessment = { at: '2026-01-01T00:00:00.000Z', requesterId: 'E1', durationMs: DAY };
    const votedAt = (stage: number, at: string) => approval(stage, { votes: [{ approverId: stage === 0 ? 'M1' : 'O2', decision: 'approved', at }] });
    const approvals = [votedAt(0, '2026-01-01T01:00:00.000Z'), votedAt(1, '2026-01-02T00:00:00.000Z')];
    const at = (iso: string) => grantApprovalProblem(policy, grant({ expiresAt: iso }), rec(approvals, { assessment }));
    expect(at('2026-01-03T00:00:00.000Z')).toBeUndefined();
    expect(at(new Date(Date.parse('2026-01-03T00:00:00.000Z') + GRANT_EXPIRY_SLACK_MS).toISOString())).toBeUndefined();
    expect(at('2026-01-10T00:00:00.000Z')).toBe(`the grant ends at 2026-01-10T00:00:00.000Z, later than ticket T1 was approved for (${DAY} ms from 2026-01-02T00:00:00.000Z)`);
    // Dropping the end of a time-bound grant is the longest extension of all.
    expect(grantApprovalProblem(policy, grant(), rec(approvals, { assessment }))).toBe(`the grant has no end, and ticket T1 was approved for ${DAY} ms`);
    // Without approvals the assessment's time counts.
    const reader = (iso: string) => grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [], expiresAt: iso }), rec([], { assessment: { ...assessment, chains: [] } }));
    expect(reader('2026-01-02T00:00:00.000Z')).toBeUndefined();
    expect(reader('2026-01-03T00:00:00.000Z')).toMatch(/later than ticket T1 was approved for \(86400000 ms from 2026-01-01T00:00:00.000Z\)/);
    // Approved without an end (null), or an older record without the duration: any end.
    expect(grantApprovalProblem(policy, grant(), rec(approvals, { assessment: { ...assessment, durationMs: null } }))).toBeUndefined();
    expect(grantApprovalProblem(policy, grant({ expiresAt: '2030-01-01T00:00:00.000Z' }), rec(approvals))).toBeUndefined();
  });

  it('requires an approved approval for every chain the assessment recorded, separation-of-duties reviews included', () => {
    const chains = [
      { rule: 'chain', reason: 'entitlement', stages: 2 },
      { rule: 'pair', reason: 'separation-of-duties', stages: 1 },
    ];
    const assessment = { at: '2026-01-01T00:00:00.000Z', requesterId: 'E1', chains };
    const review = approval(0, { approvalId: 'req-T1.2.1', approverRule: 'pair', eligible: ['F1'], votes: [{ approverId: 'F1', decision: 'approved' }] });
    expect(grantApprovalProblem(policy, grant(), rec(both, { assessment }))).toBe('vault:root needs approval pair (separation-of-duties review), and the store holds none approved for ticket T1');
    expect(grantApprovalProblem(policy, grant({ approvalIds: [...grant().approvalIds, 'req-T1.2.1'] }), rec([...both, review], { assessment }))).toBeUndefined();
    // An entitlement with no rule of its own but a review: a grant signalled before any approval was recorded.
    const onlyReview = { at: assessment.at, requesterId: 'E1', chains: [{ rule: 'pair', reason: 'separation-of-duties', stages: 1 }] };
    expect(grantApprovalProblem(policy, grant({ entitlementId: 'reader', approvalIds: [] }), rec([], { assessment: onlyReview }))).toBe(
      'vault:reader needs approval pair (separation-of-duties review), and the store holds none approved for ticket T1',
    );
  });
});
