import { describe, expect, it } from 'vitest';
import { evaluateIdentity } from '../../../policy/evaluator.js';
import { sodConflicts } from '../../../policy/sod.js';
import { compiled, NOW, person } from './fixtures.js';

const refs = (d: { entitlements: { entitlement: string }[] }) => d.entitlements.map((e) => e.entitlement);

describe('separation of duties', () => {
  it('a conflict is holding two or more members of a rule', () => {
    const rule = { id: 'r', severity: 'block' as const, entitlements: ['a:x', 'a:y', 'a:z'], roles: ['boss'] };
    expect(sodConflicts([rule], { roles: new Set(), entitlements: new Set(['a:x']) })).toEqual([]);
    expect(sodConflicts([rule], { roles: new Set(['boss']), entitlements: new Set(['a:z']) })[0]!.members).toEqual([
      { kind: 'entitlement', id: 'a:z' },
      { kind: 'role', id: 'boss' },
    ]);
  });

  it('a blocking conflict from two birthright rules withholds the new conflicting access, and keeps the rest', () => {
    const policy = compiled();
    // A Maker at level 9 matches `makers` (maker) and `checkers` (checker): refund-issue and refund-approve.
    const d = evaluateIdentity(policy, { identity: person({ title: 'Maker', extensions: { level: 9 } }), now: NOW });
    expect(d.sod).toEqual([
      {
        rule: 'refunds',
        severity: 'block',
        members: [
          { kind: 'entitlement', id: 'crm:refund-issue', rules: ['makers'], roles: ['maker'], grants: [] },
          { kind: 'entitlement', id: 'crm:refund-approve', rules: ['checkers'], roles: ['checker'], grants: [] },
        ],
      },
    ]);
    expect(d.withheld.map((w) => [w.entitlement, w.reason])).toEqual([
      ['crm:refund-approve', 'separation-of-duties'],
      ['crm:refund-issue', 'separation-of-duties'],
    ]);
    expect(refs(d)).toEqual(['chat:all-staff', 'directory:staff']);
  });

  it('a blocking conflict keeps what the person already holds and withholds only the new side', () => {
    const policy = compiled();
    const d = evaluateIdentity(policy, { identity: person({ title: 'Maker', extensions: { level: 9 } }), current: ['crm:refund-issue'], now: NOW });
    expect(refs(d)).toContain('crm:refund-issue');
    expect(d.withheld.map((w) => w.entitlement)).toEqual(['crm:refund-approve']);
  });

  it('detects a conflict through inheritance and asks for the review rule\'s approval', () => {
    const policy = compiled();
    // Lead Author: author (release-author) and lead → reviewer (release-approver), two levels down.
    const d = evaluateIdentity(policy, { identity: person({ title: 'Lead Author' }), now: NOW });
    expect(d.sod).toHaveLength(1);
    expect(d.sod[0]).toMatchObject({ rule: 'release', severity: 'review' });
    expect(d.sod[0]!.members.map((m) => [m.id, m.roles, m.rules])).toEqual([
      ['code:release-author', ['author'], ['authors']],
      ['code:release-approver', ['reviewer'], ['lead-authors']],
    ]);
    // Review: nothing withheld; both sides need security's review, and release-approver its own chain too.
    expect(d.withheld).toEqual([]);
    expect(d.approvals.map((a) => [a.entitlement, a.rule, a.reason])).toEqual([
      ['code:release-approver', 'mgr', 'entitlement'],
      ['code:release-approver', 'sec', 'separation-of-duties'],
      ['code:release-author', 'sec', 'separation-of-duties'],
    ]);
  });

  it('detects a conflict between roles held through inheritance, and withholds only what the conflicting role alone brings', () => {
    const policy = compiled({
      'sod.yaml': 'separationOfDuties:\n  - id: no-lead-makers\n    severity: block\n    roles: [reviewer, maker]\n',
    });
    // Lead (→ reviewer → base) and maker (→ base): base's entitlements stay, the rest of both sides is new and withheld.
    const d = evaluateIdentity(policy, { identity: person({ title: 'Lead', department: 'x' }), grants: [{ id: 'g1', entitlement: 'crm:refund-issue', grantedAt: NOW }], now: NOW });
    expect(d.sod).toEqual([]); // maker is not held: a grant of its entitlement is not the role
    const both = compiled({
      'sod.yaml': 'separationOfDuties:\n  - id: no-lead-makers\n    severity: block\n    roles: [reviewer, maker]\n',
      'extra.yaml': 'birthright:\n  - id: lead-makers\n    when: title == "Lead" && department == "finance"\n    roles: [maker]\n',
    });
    const e = evaluateIdentity(both, { identity: person({ title: 'Lead', department: 'finance' }), now: NOW });
    expect(e.sod.map((c) => [c.rule, c.members.map((m) => `${m.kind}:${m.id}`)])).toEqual([['no-lead-makers', ['role:reviewer', 'role:maker']]]);
    expect(e.withheld.map((w) => w.entitlement)).toEqual(['code:release-approver', 'crm:refund-issue']);
    expect(refs(e)).toEqual(['chat:all-staff', 'chat:eng', 'code:developers', 'directory:staff']);
    expect(d.entitlements.find((x) => x.entitlement === 'crm:refund-issue')?.grants).toEqual(['g1']);
  });

  it('a conflict through a grant (a request) counts too', () => {
    const policy = compiled();
    const d = evaluateIdentity(policy, { identity: person({ title: 'Maker' }), grants: [{ id: 'g7', entitlement: 'crm:refund-approve', grantedAt: NOW }], now: NOW });
    expect(d.sod[0]!.members.map((m) => [m.id, m.grants])).toEqual([
      ['crm:refund-issue', []],
      ['crm:refund-approve', ['g7']],
    ]);
  });
});
