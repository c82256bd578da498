import { describe, expect, it } from 'vitest';
import type { AccountRef } from '../../../connectors/contract.js';
import { managersToFind } from '../../../policy/attribute-sync.js';
import { planIdentity, type ActualAccount } from '../../../policy/planner.js';
import { baseFiles, compiled, load, NOW, person } from './fixtures.js';

// chat (SCIM) and directory (LDAP) map `manager` to the manager's employee id; code keeps the default map.
const withMap = (id: string, config: string, map: string) => (yaml: string) =>
  yaml.replace(`  - id: ${id}\n    connector: ${id === 'chat' ? 'scim' : 'ldap'}\n    config: ${config}\n    owner: owners\n    classification: internal\n`, (head) => `${head}    attributes:\n${map}`);
const files = {
  'attributes.yaml': baseFiles['attributes.yaml']!.replace('attributes:\n', 'attributes:\n  - { name: managerId, type: string }\n'),
  'applications.yaml': withMap('directory', 'ldap', '      uid: email\n      manager: managerId\n')(withMap('chat', 'chat', '      title: title\n      manager: managerId\n')(baseFiles['applications.yaml']!)),
};
const policy = compiled(files);

const ref = (app: string): AccountRef => ({ app, id: `${app}-1`, externalId: 'E1' });
const MANAGER_DN = 'uid=grace@example.com,ou=people,dc=example,dc=org';
const account = (app: string, attributes: Record<string, string>, entitlements: string[]): ActualAccount => ({ app, account: ref(app), active: true, entitlements, attributes });
const has = (chat: Record<string, string>, directory: Record<string, string>): ActualAccount[] => [
  account('chat', { title: 'Engineer', ...chat }, ['all-staff', 'eng']),
  { app: 'code', account: ref('code'), active: true, entitlements: ['developers'] },
  account('directory', { uid: 'ada@example.com', ...directory }, ['staff']),
];
const named = { email: 'ada@example.com', department: 'eng', title: 'Engineer' };
const plan = (managerId: string | undefined, actual: ActualAccount[], managerAccounts?: Record<string, string>) =>
  planIdentity(policy, { identity: person({ ...named, managerId }), actual, now: NOW, ...(managerAccounts ? { managerAccounts } : {}) }).plan;

describe('the manager attribute', () => {
  it('is accepted in a SCIM and an LDAP map', () => {
    expect(load(files).problems.filter((p) => p.path.includes('attributes'))).toEqual([]);
  });

  it('names the manager whose account each mapping application must look up', () => {
    expect(managersToFind(policy, person({ ...named, managerId: 'M2' }))).toEqual({ chat: 'M2', directory: 'M2' });
    // No manager on record: nothing to look up.
    expect(managersToFind(policy, person({ ...named, managerId: undefined }))).toEqual({});
    // A leaver's accounts are not updated: no read for them.
    expect(managersToFind(policy, person({ ...named, managerId: 'M2', status: 'terminated' }))).toEqual({});
  });

  it("sets the new manager's account handle: the SCIM id in chat, the DN in the directory", () => {
    const p = plan('M2', has({ manager: 'scim-id-of-m1' }, { manager: 'uid=m1,ou=people,dc=example,dc=org' }), { chat: 'scim-id-of-m2', directory: MANAGER_DN });
    expect(p.steps.find((s) => s.key === 'updateAccount/chat')!.attributes).toEqual({ manager: { from: 'scim-id-of-m1', to: 'scim-id-of-m2' } });
    expect(p.steps.find((s) => s.key === 'updateAccount/directory')!.attributes).toEqual({ manager: { from: 'uid=m1,ou=people,dc=example,dc=org', to: MANAGER_DN } });
  });

  it('compares DNs case-insensitively and SCIM ids exactly', () => {
    const p = plan('M2', has({ manager: 'SCIM-ID-OF-M2' }, { manager: MANAGER_DN.toUpperCase() }), { chat: 'scim-id-of-m2', directory: MANAGER_DN });
    expect(p.steps.map((s) => s.key)).toEqual(['updateAccount/chat']);
  });

  it('leaves the manager as the application has it when the manager has no account there, and says so', () => {
    const p = plan('M2', has({ manager: 'scim-id-of-m1', title: 'Lead' }, { manager: MANAGER_DN }), { directory: MANAGER_DN });
    const chat = p.steps.find((s) => s.key === 'updateAccount/chat')!;
    expect(chat.attributes).toEqual({ title: { from: 'Lead', to: 'Engineer' } });
    expect(chat.reason).toBe('attributes differ: title; manager left as it is: M2 has no known account in chat');
    expect(p.steps.some((s) => s.key === 'updateAccount/directory')).toBe(false);
  });

  it('clears the manager of a person who no longer has one on record', () => {
    const p = plan('', has({ manager: 'scim-id-of-m1' }, {}), {});
    expect(p.steps.find((s) => s.key === 'updateAccount/chat')!.attributes).toEqual({ manager: { from: 'scim-id-of-m1', to: null } });
  });

  it("creates an account with the manager's handle, or without it (saying why) when the manager has none", () => {
    const hire = (managerAccounts: Record<string, string>) => plan('M2', [], managerAccounts).steps.find((s) => s.key === 'ensureAccount/chat')!;
    expect(hire({ chat: 'scim-id-of-m2' }).attributes).toEqual({ title: { from: null, to: 'Engineer' }, manager: { from: null, to: 'scim-id-of-m2' } });
    const without = hire({});
    expect(without.attributes).toEqual({ title: { from: null, to: 'Engineer' } });
    expect(without.reason).toMatch(/; manager left as it is: M2 has no known account in chat$/);
  });
});
