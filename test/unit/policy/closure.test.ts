import { describe, expect, it } from 'vitest';
import { findCycles, roleClosures } from '../../../policy/closure.js';
import { evaluateIdentity } from '../../../policy/evaluator.js';
import { explainAccess } from '../../../policy/explain.js';
import { compiled, NOW, person } from './fixtures.js';

describe('role hierarchy', () => {
  const diamond = [
    { id: 'base', inherits: [] },
    { id: 'left', inherits: ['base'] },
    { id: 'right', inherits: ['base'] },
    { id: 'top', inherits: ['left', 'right'] },
  ];

  it('a diamond is not a cycle, and its closure holds each role once', () => {
    expect(findCycles(diamond)).toEqual([]);
    expect(roleClosures(diamond)).toEqual({ base: ['base'], left: ['base', 'left'], right: ['base', 'right'], top: ['base', 'left', 'right', 'top'] });
  });

  it('finds cycles of any length, self-inheritance included, once each', () => {
    const roles = [...diamond, { id: 'a', inherits: ['b'] }, { id: 'b', inherits: ['c', 'base'] }, { id: 'c', inherits: ['a'] }, { id: 's', inherits: ['s'] }, { id: 'x', inherits: ['a'] }];
    expect(findCycles(roles)).toEqual([['a', 'b', 'c'], ['s']]);
  });

  it('handles deep hierarchies without recursion limits', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => ({ id: `r${i}`, inherits: i === 0 ? [] : [`r${i - 1}`] }));
    expect(findCycles(chain)).toEqual([]);
  });
});

describe('desired access: the closure over the role hierarchy', () => {
  const policy = compiled();

  it('brings an entitlement reached through both sides of a diamond once, with every rule and path behind it', () => {
    // lead inherits engineer and reviewer; both inherit base.
    const d = evaluateIdentity(policy, { identity: person({ title: 'Lead' }), now: NOW });
    expect(d.roles.map((r) => r.id)).toEqual(['base', 'engineer', 'lead', 'reviewer']);
    const allStaff = d.entitlements.filter((e) => e.entitlement === 'chat:all-staff');
    expect(allStaff).toHaveLength(1);
    expect(allStaff[0]).toMatchObject({ rules: ['all', 'leads'], roles: ['base'], grants: [] });
    expect(d.roles.find((r) => r.id === 'base')).toEqual({ id: 'base', rules: ['all', 'leads'], assignedBy: ['all'], inheritedBy: ['engineer', 'reviewer'] });
    expect(d.entitlements.map((e) => e.entitlement)).toEqual(['chat:all-staff', 'chat:eng', 'code:developers', 'code:release-approver', 'directory:staff']);
  });

  it('explains an entitlement by the rule and the chain of roles', () => {
    const d = evaluateIdentity(policy, { identity: person({ title: 'Lead', department: 'eng' }), now: NOW });
    const [developers] = explainAccess(policy, d, 'code:developers');
    expect(developers!.chains).toEqual([
      { rule: 'eng', roles: ['engineer'] },
      { rule: 'leads', roles: ['lead', 'engineer'] },
    ]);
  });
});
