import { describe, expect, it } from 'vitest';
import { evaluateIdentity } from '../../../policy/evaluator.js';
import { compiled, NOW, person } from './fixtures.js';

const policy = compiled();
const refs = (d: { entitlements: { entitlement: string }[] }) => d.entitlements.map((e) => e.entitlement);

describe('region rules (data residency)', () => {
  it('an application that does not allow the identity\'s region is removed from desired access, and reported', () => {
    const eu = evaluateIdentity(policy, { identity: person({ department: 'sales', region: 'eu' }), now: NOW });
    expect(refs(eu)).toContain('crm:users');
    expect(eu.applications).toContain('crm');
    const us = evaluateIdentity(policy, { identity: person({ department: 'sales', region: 'us' }), now: NOW });
    expect(refs(us)).not.toContain('crm:users');
    expect(us.applications).toEqual(['chat', 'directory']);
    expect(us.withheld).toEqual([
      { entitlement: 'crm:users', reason: 'region', detail: 'crm does not allow region us (allowed: eu)', rules: ['sales'], roles: ['crm-user'], grants: [] },
    ]);
  });

  it('an identity without a region gets no access to a region-restricted application', () => {
    const d = evaluateIdentity(policy, { identity: person({ department: 'sales', region: undefined }), now: NOW });
    expect(d.withheld[0]).toMatchObject({ entitlement: 'crm:users', reason: 'region', detail: expect.stringMatching(/has no region/) });
  });

  it('region rules apply to grants too', () => {
    const d = evaluateIdentity(policy, { identity: person({ region: 'us' }), grants: [{ id: 'g1', entitlement: 'crm:users', grantedAt: NOW }], now: NOW });
    expect(d.withheld.map((w) => [w.entitlement, w.grants])).toEqual([['crm:users', ['g1']]]);
  });
});

describe('grants', () => {
  it('active grants add entitlements with their provenance; expired and unknown ones are reported', () => {
    const d = evaluateIdentity(policy, {
      identity: person(),
      grants: [
        { id: 'active', entitlement: 'code:developers', grantedAt: '2026-01-01T00:00:00Z', expiresAt: '2026-02-01T00:00:00Z' },
        { id: 'expired', entitlement: 'chat:eng', grantedAt: '2025-01-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' },
        { id: 'capped', entitlement: 'code:admin', grantedAt: '2025-11-01T00:00:00Z' }, // maxDuration P30D
        { id: 'unknown', entitlement: 'code:gone', grantedAt: NOW },
      ],
      now: NOW,
    });
    expect(d.entitlements.find((e) => e.entitlement === 'code:developers')).toMatchObject({ grants: ['active'], rules: [], roles: [] });
    expect(d.expiredGrants).toEqual(['expired', 'capped']);
    expect(d.unknownGrants).toEqual(['unknown']);
    expect(refs(d)).toEqual(['chat:all-staff', 'code:developers', 'directory:staff']);
  });
});

describe('approvals each new entitlement needs', () => {
  it('a new sensitive entitlement needs its chain, resolved for the person; one already held does not', () => {
    const fresh = evaluateIdentity(policy, { identity: person({ title: 'Lead' }), now: NOW });
    expect(fresh.approvals).toEqual([
      {
        entitlement: 'code:release-approver',
        reason: 'entitlement',
        rule: 'mgr',
        mode: 'any-of',
        required: 1,
        approvers: [{ approver: 'manager', employeeId: 'M1' }],
        timeout: 'P7D',
        onTimeout: 'reject',
      },
    ]);
    expect(fresh.entitlements.find((e) => e.entitlement === 'code:release-approver')!.isNew).toBe(true);
    const held = evaluateIdentity(policy, { identity: person({ title: 'Lead' }), current: ['code:release-approver'], now: NOW });
    expect(held.approvals).toEqual([]);
  });

  it('a grant is already approved; an n-of-m chain resolves app owner and groups, and flags a missing manager', () => {
    const granted = evaluateIdentity(policy, { identity: person(), grants: [{ id: 'g', entitlement: 'code:admin', grantedAt: NOW }], now: NOW });
    expect(granted.approvals).toEqual([]);
    const policyWithRule = compiled({ 'extra.yaml': 'birthright:\n  - id: admins\n    when: title == "Admin"\n    roles: [admin]\nroles:\n  - id: admin\n    entitlements: [code:admin]\n' });
    const d = evaluateIdentity(policyWithRule, { identity: person({ title: 'Admin', managerId: undefined }), now: NOW });
    expect(d.approvals[0]).toMatchObject({
      entitlement: 'code:admin',
      rule: 'two',
      mode: 'n-of-m',
      required: 2,
      approvers: [{ approver: 'manager' }, { approver: 'app-owner', group: 'owners' }, { approver: 'group', group: 'finance-leads' }],
      unresolved: ['manager: the identity has no managerId'],
    });
  });
});

describe('lifecycle', () => {
  it('a leaver has no desired access, whatever the rules and grants say', () => {
    const d = evaluateIdentity(policy, { identity: person({ status: 'terminated', department: 'eng' }), grants: [{ id: 'g', entitlement: 'chat:eng', grantedAt: NOW }], now: NOW });
    expect(d.entitlements).toEqual([]);
    expect(d.note).toMatch(/terminated/);
  });

  it('the result is JSON-plain and carries the policy version', () => {
    const d = evaluateIdentity(policy, { identity: person({ title: 'Lead Author', department: 'sales', region: 'us' }), now: NOW });
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d.policyVersion).toBe(policy.version);
  });
});
