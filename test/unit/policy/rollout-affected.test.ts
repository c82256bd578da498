// Who a policy rollout moves: everyone evaluated under the previous and the new version, with their
// approved grants (policy/diff.ts, as the rollout's activity calls it per page of the store); the
// fence budget its re-evaluations count against; the request id and source they carry.
import { describe, expect, it } from 'vitest';
import { diffPolicies } from '../../../policy/diff.js';
import { sourceBudget } from '../../../policy/fencing.js';
import type { Grant } from '../../../policy/evaluator.js';
import { rolloutRequest } from '../../../workflows/policy-rollout.js';
import { baseFiles, compiled, NOW, person } from './fixtures.js';

const before = compiled();
// The new version: sales also get the engineering chat channel (a new role and birthright rule).
const salesChat = compiled({
  'birthright.yaml': `${baseFiles['birthright.yaml']!}  - id: sales-chat\n    when: department == "sales"\n    roles: [sales-chat]\n`,
  'roles.yaml': `${baseFiles['roles.yaml']!}  - id: sales-chat\n    entitlements: [chat:eng]\n`,
});
const people = [
  person({ employeeId: 'S1', department: 'sales' }),
  person({ employeeId: 'S2', department: 'sales' }),
  person({ employeeId: 'E1', department: 'eng' }),
  person({ employeeId: 'O1', department: 'ops' }),
  person({ employeeId: 'S3', department: 'sales', status: 'terminated' }),
];

describe('the people a policy rollout moves', () => {
  it('a new birthright rule for one department moves exactly its active people', () => {
    const diff = diffPolicies(before, salesChat, people, NOW);
    expect(diff.identities).toBe(people.length);
    expect(diff.changes).toEqual([
      { employeeId: 'S1', gains: ['chat:eng'], loses: [], rolesGained: ['sales-chat'], rolesLost: [] },
      { employeeId: 'S2', gains: ['chat:eng'], loses: [], rolesGained: ['sales-chat'], rolesLost: [] },
    ]);
    // Back again: the same people lose it.
    expect(diffPolicies(salesChat, before, people, NOW).changes.map((c) => [c.employeeId, c.loses])).toEqual([['S1', ['chat:eng']], ['S2', ['chat:eng']]]);
  });

  it('the same version twice moves nobody', () => {
    expect(diffPolicies(salesChat, salesChat, people, NOW).changes).toEqual([]);
  });

  it('counts the approved grants the store holds: a longer maximum duration brings back an expired grant', () => {
    const longer = compiled({ 'applications.yaml': baseFiles['applications.yaml']!.replace('maxDuration: P30D', 'maxDuration: P90D') });
    // Granted 40 days before NOW without an end: past 30 days, within 90.
    const grants: Record<string, Grant[]> = { E1: [{ id: 'g1', entitlement: 'code:admin', grantedAt: '2025-11-26T10:00:00.000Z' }] };
    const grantsOf = (id: string) => grants[id] ?? [];
    expect(diffPolicies(before, longer, people, NOW).changes).toEqual([]);
    expect(diffPolicies(before, longer, people, NOW, { grantsOf }).changes).toEqual([{ employeeId: 'E1', gains: ['code:admin'], loses: [], rolesGained: [], rolesLost: [] }]);
  });
});

describe('a rollout as the fence and the people see it', () => {
  it('asks once per rollout id and counts under policy/<short hash>', () => {
    expect(rolloutRequest('sha256:0123456789abcdef', 'why')).toEqual({ requestId: 'policy/sha256:0123456789abcdef', source: 'policy/01234567', reason: 'why' });
    expect(rolloutRequest('sha256:0123456789abcdef@7', 'why').requestId).toBe('policy/sha256:0123456789abcdef@7');
  });

  it('an unknown source shares the default budget; a named family or source keeps its own', () => {
    const { fencing } = before.model;
    expect(sourceBudget(fencing, 'policy/01234567')).toBe('default');
    expect(sourceBudget(fencing, 'urn:hris:anything')).toBe('default');
    const named = { ...fencing, perSource: { ...fencing.perSource, 'policy/*': {}, 'urn:hris:workday': {} } };
    expect(sourceBudget(named, 'policy/01234567')).toBe('policy/*');
    expect(sourceBudget(named, 'urn:hris:workday')).toBe('urn:hris:workday');
    expect(sourceBudget(named, 'reconcile/crm')).toBe('default');
  });
});
