import { describe, expect, it } from 'vitest';
import { countApprovals, decide, drain, nextDue, openGate, refusalOf, tick, withdraw, type ChainSpec } from '../../policy/approval-chain.js';
import { approvalWorkflowId } from '../../workflows/approval-messages.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const MIN = 60_000;

const chain = (over: Partial<ChainSpec> = {}): ChainSpec => ({
  entitlement: 'crm:refund-approve',
  rule: 'manager-then-owner',
  reason: 'entitlement',
  mode: 'sequential',
  required: 1,
  slots: [
    { label: 'manager', eligible: ['M1'] },
    { label: 'app-owner:sales-operations', eligible: ['O1', 'O2'] },
  ],
  timeoutMs: 10 * MIN,
  onTimeout: 'reject',
  ...over,
});

const gateOf = (chains: ChainSpec[], requesterId = 'R1') => openGate({ idPrefix: 'req-T1', beneficiaryId: 'B1', requesterId, chains }, T0);
const vote = (approvalId: string, approverId: string, decision: 'approved' | 'rejected' = 'approved') => ({ approvalId, approverId, decision, channel: 'api' as const });

describe('approval gates', () => {
  it('a sequential chain opens one stage at a time and is approved after its last stage', () => {
    const gate = gateOf([chain()]);
    expect(gate.approvals.map((a) => a.approvalId)).toEqual(['req-T1.1.1']);
    decide(gate, vote('req-T1.1.1', 'M1'), T0 + MIN);
    expect(gate.status).toBe('pending');
    expect(gate.approvals.map((a) => a.approvalId)).toEqual(['req-T1.1.1', 'req-T1.1.2']);
    expect(refusalOf(gate, vote('req-T1.1.2', 'M1'))?.code).toBe('not-eligible');
    decide(gate, vote('req-T1.1.2', 'O2'), T0 + 2 * MIN);
    expect(gate.status).toBe('approved');
    expect(drain(gate).map((e) => e.kind)).toEqual(['opened', 'decided', 'opened', 'decided']);
  });

  it('employee ids compare case-insensitively: the requester in other letters is still the requester, an eligible approver still counts', () => {
    const gate = gateOf([chain({ mode: 'any-of', slots: [{ label: 'group', eligible: ['A1', 'R1', 'B1'] }] })]);
    expect(refusalOf(gate, vote('req-T1.1.1', 'r1'))?.code).toBe('requester');
    expect(refusalOf(gate, vote('req-T1.1.1', 'b1'))?.code).toBe('beneficiary');
    expect(refusalOf(gate, vote('req-T1.1.1', 'a1'))).toBeUndefined();
    expect(countApprovals([{ label: 'group', eligible: ['A1'] }], ['a1'])).toBe(1);
  });

  it('the requester and the beneficiary are refused even when they belong to the approver group', () => {
    const gate = gateOf([chain({ mode: 'any-of', slots: [{ label: 'group:admins', eligible: ['R1', 'B1', 'A1'] }] })]);
    expect(refusalOf(gate, vote('req-T1.1.1', 'R1'))?.code).toBe('requester');
    expect(refusalOf(gate, vote('req-T1.1.1', 'B1'))?.code).toBe('beneficiary');
    expect(refusalOf(gate, vote('req-T1.1.1', 'X9'))?.code).toBe('not-eligible');
    expect(refusalOf(gate, vote('req-T1.9.9', 'A1'))?.code).toBe('unknown-approval');
    expect(refusalOf(gate, vote('req-T1.1.1', 'A1'))).toBeUndefined();
  });

  it('n of m needs approvals from distinct approvers standing for distinct slots', () => {
    const gate = gateOf([
      chain({
        mode: 'n-of-m',
        required: 2,
        slots: [
          { label: 'group:finance-leads', eligible: ['F1', 'F2'] },
          { label: 'group:controllers', eligible: ['C1'] },
          { label: 'security', eligible: ['S1'] },
        ],
      }),
    ]);
    decide(gate, vote('req-T1.1.1', 'F1'), T0);
    expect(refusalOf(gate, vote('req-T1.1.1', 'F1'))?.code).toBe('already-voted');
    decide(gate, vote('req-T1.1.1', 'F2'), T0);
    // Two finance leads fill one slot: still one approval of the two needed.
    expect(gate.status).toBe('pending');
    decide(gate, vote('req-T1.1.1', 'S1'), T0);
    expect(gate.status).toBe('approved');
  });

  it('counts approvals as a matching of voters to slots, not greedily', () => {
    const slots = [
      { label: 'a', eligible: ['X', 'Y'] },
      { label: 'b', eligible: ['X'] },
    ];
    expect(countApprovals(slots, ['X', 'Y'])).toBe(2);
    expect(countApprovals(slots, ['Y', 'X'])).toBe(2);
  });

  it('one rejection rejects the gate and withdraws its other approvals', () => {
    const gate = gateOf([chain({ mode: 'any-of' }), chain({ rule: 'security-review', reason: 'separation-of-duties', mode: 'any-of', slots: [{ label: 'security', eligible: ['S1'] }] })]);
    expect(gate.approvals).toHaveLength(2);
    decide(gate, vote('req-T1.2.1', 'S1', 'rejected'), T0);
    expect(gate.status).toBe('rejected');
    expect(gate.approvals.map((a) => a.status)).toEqual(['withdrawn', 'rejected']);
    expect(refusalOf(gate, vote('req-T1.1.1', 'M1'))?.code).toBe('not-pending');
  });

  it('reminds, escalates after the escalation delay, and rejects at the deadline', () => {
    const gate = gateOf([chain({ mode: 'any-of', slots: [{ label: 'manager', eligible: ['M1'] }], reminderMs: 2 * MIN, escalation: { afterMs: 5 * MIN, slot: { label: 'group:it-helpdesk', eligible: ['H1'] } } })]);
    drain(gate);
    expect(nextDue(gate)).toBe(T0 + 2 * MIN);
    tick(gate, T0 + 2 * MIN);
    expect(drain(gate).map((e) => e.kind)).toEqual(['reminded']);
    expect(refusalOf(gate, vote('req-T1.1.1', 'H1'))?.code).toBe('not-eligible');
    tick(gate, T0 + 5 * MIN);
    expect(drain(gate).map((e) => e.kind)).toEqual(['escalated']);
    expect(refusalOf(gate, vote('req-T1.1.1', 'H1'))).toBeUndefined();
    expect(nextDue(gate)).toBe(T0 + 10 * MIN);
    tick(gate, T0 + 10 * MIN);
    expect(gate.status).toBe('expired');
    expect(gate.reasons[0]).toContain('not decided by its deadline');
  });

  it('onTimeout escalate hands the approval to the escalation approver with a fresh deadline, then expires', () => {
    const gate = gateOf([chain({ mode: 'any-of', slots: [{ label: 'manager', eligible: ['M1'] }], onTimeout: 'escalate', escalation: { afterMs: 20 * MIN, slot: { label: 'security', eligible: ['S1'] } } })]);
    tick(gate, T0 + 10 * MIN);
    expect(gate.status).toBe('pending');
    expect(gate.approvals[0]!.escalated).toBe(true);
    expect(gate.approvals[0]!.deadline).toBe(T0 + 20 * MIN);
    tick(gate, T0 + 20 * MIN);
    expect(gate.status).toBe('expired');
  });

  it('a stage nobody can decide escalates at once, or rejects when there is no escalation', () => {
    const noManager = gateOf([chain({ slots: [{ label: 'manager', eligible: [] }, { label: 'app-owner:x', eligible: ['O1'] }] })]);
    expect(noManager.status).toBe('rejected');
    expect(noManager.reasons[0]).toContain('no eligible approver');
    // The requester is the manager: the helpdesk decides instead.
    const selfManaged = gateOf([chain({ mode: 'any-of', slots: [{ label: 'manager', eligible: ['R1'] }], escalation: { afterMs: 5 * MIN, slot: { label: 'group:it-helpdesk', eligible: ['H1'] } } })]);
    expect(selfManaged.status).toBe('pending');
    expect(selfManaged.approvals[0]!.escalated).toBe(true);
  });

  it('a gate without chains is approved at once; withdraw closes what is pending', () => {
    expect(gateOf([]).status).toBe('approved');
    const gate = gateOf([chain()]);
    withdraw(gate, 'the person left', T0);
    expect(gate.status).toBe('withdrawn');
    expect(gate.approvals[0]!.status).toBe('withdrawn');
  });

  it('approval ids name the workflow that holds them', () => {
    expect(approvalWorkflowId('req-CHG-1.2.1')).toBe('request/CHG-1');
    expect(approvalWorkflowId('req-T.1.1.1')).toBe('request/T.1');
    expect(approvalWorkflowId('idn-E-100-3.1.2')).toBe('identity/E-100');
    expect(approvalWorkflowId('something-else')).toBeUndefined();
  });
});
