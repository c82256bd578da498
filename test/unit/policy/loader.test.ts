import { describe, expect, it } from 'vitest';
import { loadPolicy, loadPolicyDir } from '../../../policy/loader.js';
import type { Problem } from '../../../policy/problems.js';
import { files, load } from './fixtures.js';

function problems(overrides: Record<string, string | null>): Problem[] {
  const result = load(overrides);
  expect(result.ok).toBe(false);
  return result.problems;
}

/** The one problem whose message matches, with its file, line and path. */
function only(list: Problem[], message: RegExp): Problem {
  const found = list.filter((p) => message.test(p.message));
  expect(found, `problems: ${JSON.stringify(list, null, 1)}`).toHaveLength(1);
  return found[0]!;
}

describe('loading a policy directory', () => {
  it('the example policy loads without problems, versioned by its content hash', () => {
    const result = loadPolicyDir('examples/policy');
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(result.files).toContain('applications/crm.yaml');
  });

  it('the example policy names the people of every approver group, security among them, and the two-person release rule', () => {
    const result = loadPolicyDir('examples/policy');
    if (!result.ok) throw new Error('example policy does not load');
    const groups = result.policy.model.approverGroups;
    expect(groups.map((g) => g.id)).toContain('security');
    for (const g of groups) expect(g.members.length, g.id).toBeGreaterThanOrEqual(1);
    expect(result.policy.model.fencing.releasesRequired).toBe(2);
  });

  it('the fixture policy loads', () => {
    expect(load().problems).toEqual([]);
  });

  it('the version is the hash of the files sorted by name: order-independent, content-sensitive', () => {
    const a = loadPolicy(files());
    const b = loadPolicy([...files()].reverse());
    const c = loadPolicy(files({ 'extra.yaml': '# a comment changes the version\n' }));
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
  });

  it('compiles a policy version once: loading the same files again returns the same compiled policy', () => {
    const a = load();
    const b = load();
    expect(a.ok && b.ok && a.policy === b.policy).toBe(true);
  });

  it('an empty directory is a problem', () => {
    expect(loadPolicy([]).problems[0]!.message).toMatch(/no \.yaml files/);
  });
});

describe('every class of problem is reported with file, line and path', () => {
  it('YAML that does not parse', () => {
    const p = only(problems({ 'bad.yaml': 'roles:\n  - id: x\n    inherits: [a, b\n' }), /^YAML:/);
    expect(p.file).toBe('bad.yaml');
    expect(p.line).toBeGreaterThanOrEqual(3);
  });

  it('an unknown key (a misspelt setting is an error, not ignored)', () => {
    const p = only(problems({ 'extra.yaml': 'roles:\n  - id: x\n    inherit: [base]\n' }), /unknown key "inherit"/);
    expect(p).toMatchObject({ file: 'extra.yaml', line: 3, path: 'roles[0].inherit' });
  });

  it('an unknown section', () => {
    const p = only(problems({ 'extra.yaml': 'rolez: []\n' }), /unknown section "rolez"/);
    expect(p).toMatchObject({ file: 'extra.yaml', line: 1 });
  });

  it('a missing required field and a wrong enum value', () => {
    const list = problems({ 'extra.yaml': 'applications:\n  - id: wiki\n    connector: smtp\n    owner: owners\n    classification: internal\n' });
    expect(only(list, /missing/)).toMatchObject({ file: 'extra.yaml', line: 2, path: 'applications[0].config' });
    expect(only(list, /scim|ldap/)).toMatchObject({ file: 'extra.yaml', line: 3, path: 'applications[0].connector' });
  });

  it('unknown references: inherited role, bundled entitlement, unknown application, birthright role', () => {
    const list = problems({
      'extra.yaml': [
        'roles:',
        '  - id: x',
        '    inherits: [engineeer]',
        '    entitlements: [chat:general, wiki:pages]',
        'birthright:',
        '  - id: r',
        '    when: department == "x"',
        '    roles: [nobody]',
      ].join('\n'),
    });
    expect(only(list, /unknown role "engineeer"/)).toMatchObject({ file: 'extra.yaml', line: 3, path: 'roles[0].inherits[0]' });
    expect(only(list, /unknown role "engineeer"/).message).toMatch(/did you mean "engineer"/);
    expect(only(list, /unknown entitlement "chat:general"/)).toMatchObject({ line: 4, path: 'roles[0].entitlements[0]' });
    expect(only(list, /unknown application "wiki"/)).toMatchObject({ line: 4, path: 'roles[0].entitlements[1]' });
    expect(only(list, /unknown role "nobody"/)).toMatchObject({ line: 8, path: 'birthright[0].roles[0]' });
  });

  it('unknown references: approval rule, approver group, owner, region, fenced application', () => {
    const list = problems({
      'extra.yaml': [
        'applications:',
        '  - id: wiki',
        '    connector: scim',
        '    config: wiki',
        '    owner: wiki-team',
        '    classification: internal',
        '    allowedRegions: [apac]',
        '    entitlements:',
        '      - { id: editors, approval: editor-approval }',
        'approvals:',
        '  - { id: x, mode: any-of, approvers: ["group:nobody"] }',
        'fencing:',
        '  perApplication:',
        '    wikki: { revoke: { absolute: 5 } }',
      ].join('\n'),
    });
    expect(only(list, /unknown approver group "wiki-team" as owner/)).toMatchObject({ line: 5, path: 'applications[0].owner' });
    expect(only(list, /unknown region "apac"/)).toMatchObject({ line: 7, path: 'applications[0].allowedRegions[0]' });
    expect(only(list, /unknown approval rule "editor-approval"/)).toMatchObject({ line: 9, path: 'applications[0].entitlements[0].approval' });
    expect(only(list, /unknown approver group "nobody"/)).toMatchObject({ line: 11, path: 'approvals[0].approvers[0]' });
    expect(only(list, /unknown application "wikki"/)).toMatchObject({ line: 14, path: 'fencing.perApplication.wikki' });
  });

  it('a role inheritance cycle, at the inheriting line, naming the cycle', () => {
    const list = problems({
      'cycle.yaml': ['roles:', '  - id: a', '    inherits: [b]', '  - id: b', '    inherits: [c]', '  - id: c', '    inherits: [a]', '  - id: self', '    inherits: [self]'].join('\n'),
    });
    expect(only(list, /cycle: a → b → c → a/)).toMatchObject({ file: 'cycle.yaml', line: 3, path: 'roles[0].inherits[0]' });
    expect(only(list, /cycle: self → self/)).toMatchObject({ file: 'cycle.yaml', line: 9 });
  });

  it('CEL syntax errors, with the line and column inside the YAML', () => {
    const list = problems({ 'extra.yaml': 'birthright:\n  - id: r\n    when: department == "eng" &&\n    roles: [base]\n' });
    const p = only(list, /CEL syntax error/);
    expect(p).toMatchObject({ file: 'extra.yaml', line: 3, path: 'birthright[0].when' });
    expect(p.column).toBe(11 + 'department == "eng" &&'.length);
  });

  it('CEL type errors against the attribute schema: wrong type, unknown attribute, not a bool', () => {
    const list = problems({
      'extra.yaml': [
        'birthright:',
        '  - id: wrong-type',
        '    when: level == "senior"',
        '    roles: [base]',
        '  - id: unknown-attribute',
        '    when: departement == "eng"',
        '    roles: [base]',
        '  - id: not-bool',
        '    when: department',
        '    roles: [base]',
        '  - id: block-scalar',
        '    when: |',
        '      department == "eng" &&',
        '      trained == "yes"',
        '    roles: [base]',
      ].join('\n'),
    });
    expect(only(list, /no such overload: int == string/)).toMatchObject({ line: 3, path: 'birthright[0].when', column: 11 });
    expect(only(list, /Unknown variable: departement/)).toMatchObject({ line: 6, path: 'birthright[1].when' });
    expect(only(list, /must be of type bool, this one is string/)).toMatchObject({ line: 9 });
    // In a literal block scalar the error is on the second line of the condition.
    expect(only(list, /no such overload: bool == string/)).toMatchObject({ line: 14, column: 7 });
  });

  it('duplicate ids, within and across files', () => {
    const list = problems({ 'z-extra.yaml': 'roles:\n  - id: base\n  - id: twice\n  - id: twice\n' });
    expect(only(list, /duplicate role "base" \(first defined at roles\.yaml:2\)/)).toMatchObject({ file: 'z-extra.yaml', line: 2, path: 'roles[0].id' });
    expect(only(list, /duplicate role "twice" \(first defined at z-extra\.yaml:3\)/)).toMatchObject({ line: 4 });
  });

  it('duplicate entitlements in an application', () => {
    const list = problems({ 'extra.yaml': 'applications:\n  - { id: wiki, connector: scim, config: wiki, owner: owners, classification: internal, entitlements: [{ id: a }, { id: a }] }\n' });
    expect(only(list, /duplicate entitlement "a" in application wiki/)).toMatchObject({ file: 'extra.yaml', line: 2 });
  });

  it('a separation-of-duties rule naming an unknown entitlement or role', () => {
    const list = problems({
      'sod2.yaml': ['separationOfDuties:', '  - id: s', '    severity: block', '    entitlements: [crm:refund-issue, crm:refunds-approve]', '    roles: [makr]'].join('\n'),
    });
    expect(only(list, /separation of duties names unknown entitlement "crm:refunds-approve"/)).toMatchObject({ file: 'sod2.yaml', line: 4, path: 'separationOfDuties[0].entitlements[1]' });
    expect(only(list, /separation of duties names unknown role "makr"/)).toMatchObject({ line: 5, path: 'separationOfDuties[0].roles[0]' });
  });

  it('approval chains without approvers, and n-of-m asking for more approvals than approvers', () => {
    const list = problems({
      'extra.yaml': ['approvals:', '  - id: empty', '    mode: any-of', '    approvers: []', '  - id: greedy', '    mode: n-of-m', '    required: 3', '    approvers: [manager, security]'].join('\n'),
    });
    expect(only(list, /approval chain without approvers/)).toMatchObject({ file: 'extra.yaml', line: 4, path: 'approvals[0].approvers' });
    expect(only(list, /requires 3 approvals but names only 2/)).toMatchObject({ line: 7, path: 'approvals[1].required' });
  });

  it('a privileged entitlement without an approval chain', () => {
    const list = problems({ 'extra.yaml': 'applications:\n  - id: wiki\n    connector: scim\n    config: wiki\n    owner: owners\n    classification: internal\n    entitlements:\n      - id: admin\n        sensitivity: privileged\n' });
    expect(only(list, /privileged entitlement needs an approval chain/)).toMatchObject({ line: 9, path: 'applications[0].entitlements[0].sensitivity' });
  });

  it('durations that do not parse', () => {
    const list = problems({ 'lifecycle.yaml': 'lifecycle:\n  moverGracePeriod: 7 days\n  leaverDeletionDelay: P30D\n  personalDataRetention: P2Y1\n' });
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ file: 'lifecycle.yaml', line: 2, path: 'lifecycle.moverGracePeriod', message: expect.stringMatching(/ISO 8601 duration/) });
    expect(list[1]).toMatchObject({ file: 'lifecycle.yaml', line: 4, path: 'lifecycle.personalDataRetention' });
  });

  it('an escalation that can never happen before the timeout', () => {
    const list = problems({ 'extra.yaml': 'approvals:\n  - id: slow\n    mode: any-of\n    approvers: [manager]\n    timeout: P1D\n    escalation: { after: P2D, to: security }\n' });
    expect(only(list, /escalation after P2D comes no sooner than the timeout P1D/)).toMatchObject({ line: 6 });
  });

  it('a reminder that can never come before the timeout', () => {
    const list = problems({ 'extra.yaml': 'approvals:\n  - id: slow\n    mode: any-of\n    approvers: [manager]\n    timeout: P1D\n    reminder: P1D\n' });
    expect(only(list, /reminder after P1D comes no sooner than the timeout P1D: it would never be sent/)).toMatchObject({ file: 'extra.yaml', line: 6, path: 'approvals[0].reminder' });
  });

  it('an approver group listing a member twice, or an id that is not an employee id', () => {
    const list = problems({ 'extra.yaml': 'approverGroups:\n  - id: twice\n    members: [E1, E2, E1]\n  - id: odd\n    members: ["not an id"]\n' });
    expect(only(list, /E1 is listed twice in approver group twice/)).toMatchObject({ file: 'extra.yaml', line: 3, path: 'approverGroups[0].members[2]' });
    expect(only(list, /an employee id is/)).toMatchObject({ line: 5, path: 'approverGroups[1].members[0]' });
  });

  it('the approver security without an approver group "security", wherever a rule or an escalation names it', () => {
    const approvals = [
      'approverGroups:',
      '  - { id: owners }',
      '  - { id: finance-leads }',
      'approvals:',
      '  - { id: mgr, mode: any-of, approvers: [manager] }',
      '  - { id: sec, mode: any-of, approvers: [security], timeout: P2D }',
      '  - { id: two, mode: n-of-m, required: 2, approvers: [manager, app-owner, "group:finance-leads"], escalation: { after: P1D, to: security } }',
    ].join('\n');
    const list = problems({ 'approvals.yaml': approvals });
    expect(list.filter((p) => /approver security means the approver group "security", and there is none/.test(p.message)).map((p) => [p.file, p.line, p.path])).toEqual([
      ['approvals.yaml', 6, 'approvals[1].approvers[0]'],
      ['approvals.yaml', 7, 'approvals[2].escalation.to'],
    ]);
    expect(list).toHaveLength(2);
  });

  it('approver groups default to no members', () => {
    const result = load({ 'extra.yaml': 'approverGroups:\n  - { id: empty }\n' });
    expect(result.ok && result.policy.model.approverGroups.find((g) => g.id === 'empty')).toEqual({ id: 'empty', members: [] });
  });

  it('fencing: one release by default; at most five, and a fixed population is a positive integer', () => {
    const defaults = load({ 'fence.yaml': 'fencing:\n  window: PT15M\n' });
    expect(defaults.ok && defaults.policy.model.fencing).toMatchObject({ releasesRequired: 1 });
    expect(defaults.ok && defaults.policy.model.fencing.population).toBeUndefined();
    const list = problems({ 'fence.yaml': 'fencing:\n  releasesRequired: 6\n  population: 0\n' });
    expect(only(list, /releasesRequired is how many distinct operators release a held batch: 1 to 5/)).toMatchObject({ file: 'fence.yaml', line: 2, path: 'fencing.releasesRequired' });
    expect(only(list, /population is a number of people: 1 or more/)).toMatchObject({ line: 3, path: 'fencing.population' });
  });

  it('a single section set in two files', () => {
    const list = problems({ 'more.yaml': 'lifecycle:\n  onLeave: disable\n' });
    expect(only(list, /lifecycle is already set in lifecycle\.yaml/)).toMatchObject({ file: 'more.yaml', line: 1 });
  });

  it('a role or a single rule that alone breaks a blocking separation-of-duties rule', () => {
    const list = problems({
      'extra.yaml': ['roles:', '  - id: payments-all', '    inherits: [maker, checker]', 'birthright:', '  - id: both', '    when: title == "x"', '    roles: [maker, checker]'].join('\n'),
    });
    expect(only(list, /role payments-all alone holds crm:refund-issue and crm:refund-approve, which separation-of-duties rule refunds blocks/)).toMatchObject({ line: 2 });
    expect(only(list, /rule both grants crm:refund-issue and crm:refund-approve/)).toMatchObject({ line: 7 });
  });

  it('reports every problem at once, sorted by file and line, and one broken definition does not cascade', () => {
    const list = problems({
      'roles.yaml': baseRolesWithBrokenEngineer(),
      'z.yaml': 'birthright:\n  - id: bad\n    when: level > "x"\n    roles: [base]\n',
    });
    // The broken engineer role is reported where it is broken, and not again as "unknown" where it is used.
    expect(list.some((p) => /unknown role "engineer"/.test(p.message))).toBe(false);
    expect(list.map((p) => p.file)).toEqual(['roles.yaml', 'z.yaml']);
  });
});

function baseRolesWithBrokenEngineer(): string {
  return ['roles:', '  - id: base', '    entitlements: [chat:all-staff]', '  - id: engineer', '    inherits: base', '  - id: lead', '    inherits: [engineer]', '  - id: author', '    inherits: [engineer]', '  - id: maker', '  - id: checker', '  - id: reviewer', '  - id: crm-user'].join('\n');
}
