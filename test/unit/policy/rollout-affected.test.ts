// Who a policy rollout moves: everyone evaluated under the previous and the new version, with their
// approved grants (policy/diff.ts, as the rollout's activity calls it per page of the store); the
// fence budget its re-evaluations count against; the request id and source they carry.
import { describe, expect, it } from 'vitest';
import { diffPolicies } from '../../../policy/diff.js';
import { sourceBudget } from '../../../policy/fencing.js';
import type { Grant } from '../../../policy/evaluator.js';
import { reevaluationKey } from '../../../workflows/identity/state.js';
import { rolloutOfChange, rolloutRequest } from '../../../workflows/policy-rollout.js';
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
      { employeeId: 'S1', gains: ['chat:eng'], loses: [], rolesGained: ['sales-chat'], rolesLost: [], accountsGained: [], accountsLost: [], attributes: [] },
      { employeeId: 'S2', gains: ['chat:eng'], loses: [], rolesGained: ['sales-chat'], rolesLost: [], accountsGained: [], accountsLost: [], attributes: [] },
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
    expect(diffPolicies(before, longer, people, NOW, { grantsOf }).changes).toEqual([{ employeeId: 'E1', gains: ['code:admin'], loses: [], rolesGained: [], rolesLost: [], accountsGained: [], accountsLost: [], attributes: [] }]);
  });
});

describe('changes a rollout sees besides entitlements and roles', () => {
  const named = (attrs: Parameters<typeof person>[0]) => person({ givenName: 'Ada', familyName: 'Lovelace', email: 'ada@example.com', ...attrs });
  const onLeave = named({ employeeId: 'L1', status: 'on-leave' });
  const working = named({ employeeId: 'W1' });
  const lifecycle = (extra: string) => compiled({ 'lifecycle.yaml': `${baseFiles['lifecycle.yaml']!}${extra}` });

  it('a leave that now disables accounts moves the people on leave (accounts lost) and back again (accounts gained), nobody else', () => {
    const disables = lifecycle('  onLeave: disable\n');
    expect(diffPolicies(before, disables, [onLeave, working], NOW).changes).toEqual([
      { employeeId: 'L1', gains: [], loses: [], rolesGained: [], rolesLost: [], accountsGained: [], accountsLost: ['chat', 'directory'], attributes: [] },
    ]);
    expect(diffPolicies(disables, before, [onLeave, working], NOW).changes.map((c) => [c.employeeId, c.accountsGained, c.accountsLost])).toEqual([['L1', ['chat', 'directory'], []]]);
  });

  it('a prehire window that opens earlier moves a future joiner: the account is made now', () => {
    // Starts in 10 days; chat now opens its window 14 days before a start (the default is on the start date).
    const joiner = named({ employeeId: 'J1', startDate: '2026-01-15' });
    const early = compiled({ 'applications.yaml': baseFiles['applications.yaml']!.replace('    config: chat\n', '    config: chat\n    prehireDays: 14\n') });
    expect(diffPolicies(before, early, [joiner, working], NOW).changes).toEqual([
      { employeeId: 'J1', gains: [], loses: [], rolesGained: [], rolesLost: [], accountsGained: ['chat'], accountsLost: [], attributes: [] },
    ]);
  });

  it('a changed attribute mapping moves the people whose mapped values change, naming the attributes, never the values', () => {
    const mapped = compiled({
      'applications.yaml': baseFiles['applications.yaml']!.replace(
        '    config: chat\n',
        '    config: chat\n    attributes:\n      userName: email\n      emails: email\n      displayName: familyName + ", " + givenName\n      title: title\n',
      ),
    });
    const titled = named({ employeeId: 'T1', title: 'Analyst' });
    const leaver = named({ employeeId: 'X1', status: 'terminated' });
    const diff = diffPolicies(before, mapped, [working, titled, leaver], NOW);
    // The default map's givenName and familyName are no longer mapped: left as the application has them, not a change.
    expect(diff.changes).toEqual([
      { employeeId: 'T1', gains: [], loses: [], rolesGained: [], rolesLost: [], accountsGained: [], accountsLost: [], attributes: ['chat:displayName', 'chat:title'] },
      { employeeId: 'W1', gains: [], loses: [], rolesGained: [], rolesLost: [], accountsGained: [], accountsLost: [], attributes: ['chat:displayName'] },
    ]);
    expect(JSON.stringify(diff)).not.toMatch(/Lovelace|Analyst/);
    // The same map again, and a version that changes nothing mapped, move nobody.
    expect(diffPolicies(mapped, mapped, [working, titled], NOW).changes).toEqual([]);
    expect(diffPolicies(before, lifecycle('  prehireDays: 2\n'), [working, titled], NOW).changes).toEqual([]);
  });
});

describe('a rollout as the fence and the people see it', () => {
  it('asks once per rollout id and counts under policy/<short hash>', () => {
    expect(rolloutRequest('sha256:0123456789abcdef', 'why')).toEqual({ requestId: 'policy/sha256:0123456789abcdef', source: 'policy/01234567', reason: 'why' });
    expect(rolloutRequest('sha256:0123456789abcdef@7', 'why').requestId).toBe('policy/sha256:0123456789abcdef@7');
  });

  it('a person\'s change names the rollout it comes from (version, and sequence when applied again); other changes name none', () => {
    expect(rolloutOfChange(reevaluationKey(rolloutRequest('sha256:0123456789abcdef', '').requestId))).toEqual({ version: 'sha256:0123456789abcdef' });
    expect(rolloutOfChange(reevaluationKey(rolloutRequest('sha256:0123456789abcdef@7', '').requestId))).toEqual({ version: 'sha256:0123456789abcdef', seq: 7 });
    for (const other of ['E1-1', 'reevaluate/reconcile/chat/run-1', 'reevaluate/policy/', 'grant/policy/sha256:0123456789abcdef']) expect(rolloutOfChange(other)).toBeUndefined();
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
