// Entitlements sync against the real slapd: the policy's directory groups are created once and
// found afterwards, and the people, groups and disabled OUs are created only where the connector is
// told to manage them (ldap.manageOus); an OU it may not create is reported missing, never made.
import { afterEach, describe, expect, it } from 'vitest';
import { policyEntitlements, syncEntitlements } from '../../activities/entitlement-sync.js';
import { callContext } from '../../connectors/conformance/harness.js';
import { LdapConnector, type ManagedOu } from '../../connectors/ldap/ldap-connector.js';
import { loadPolicyDir } from '../../policy/loader.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import { ldapBindPassword, projectRoot } from '../../schemas/config.js';
import { createTestOu, type TestOu } from './helpers/ldap-ou.js';

const loaded = loadPolicyDir(`${projectRoot}/examples/policy`);
if (!loaded.ok) throw new Error('the example policy does not load');
const policy: CompiledPolicy = loaded.policy;
const names = policyEntitlements(policy, 'directory');

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A connector whose OUs live under `ou=sub` of a private OU: none of them exists yet unless `existing`. */
async function setup(manageOus: ManagedOu[], where: 'fresh' | 'existing' = 'fresh'): Promise<{ ou: TestOu; connector: LdapConnector; dns: Record<ManagedOu, string> }> {
  const ou = await createTestOu('sync');
  open.push(ou);
  const dns: Record<ManagedOu, string> =
    where === 'existing' ? { people: ou.people, groups: ou.groups, disabled: ou.disabled } : { people: `ou=people,ou=sub,${ou.dn}`, groups: `ou=groups,ou=sub,${ou.dn}`, disabled: `ou=disabled,ou=sub,${ou.dn}` };
  const connector = new LdapConnector({
    app: 'directory',
    url: ou.cfg.ldap.url,
    bindDn: ou.cfg.ldap.bindDn,
    bindPassword: () => ldapBindPassword(ou.cfg),
    baseDn: ou.dn,
    peopleDn: dns.people,
    groupsDn: dns.groups,
    disable: { mode: 'move', disabledDn: dns.disabled },
    manageOus,
  });
  open.push(connector);
  return { ou, connector, dns };
}

const sync = (connector: LdapConnector, dryRun = false) => syncEntitlements(policy, new Map([['directory', connector]]), { apps: ['directory'], dryRun, runId: 'test' });

const exists = async (ou: TestOu, dn: string) => {
  try {
    return (await ou.admin.search(dn, { scope: 'base', attributes: ['1.1'] })).searchEntries.length === 1;
  } catch {
    return false;
  }
};

describe('entitlements sync against slapd', () => {
  it('run twice: the first creates every group, the second creates nothing', async () => {
    const { ou, connector } = await setup([], 'existing');
    const first = await sync(connector);
    expect(first.containers.map((c) => [c.role, c.status])).toEqual([['people', 'existing'], ['groups', 'existing'], ['disabled', 'existing']]);
    expect(first.entitlements.map((l) => l.status)).toEqual(names.map(() => 'created'));
    const { searchEntries } = await ou.admin.search(ou.groups, { scope: 'one', attributes: ['cn', 'modifyTimestamp'] });
    expect(searchEntries.map((e) => String(e.cn)).sort()).toEqual([...names].sort());

    const second = await sync(connector);
    expect(second.entitlements.map((l) => l.status)).toEqual(names.map(() => 'existing'));
    expect(second.entitlements.map((l) => (l.status === 'existing' ? l.id : ''))).toEqual(names);
    const again = await ou.admin.search(ou.groups, { scope: 'one', attributes: ['cn', 'modifyTimestamp'] });
    expect(again.searchEntries).toEqual(searchEntries); // nothing added, nothing modified
  });

  it('managed OUs that are missing are created (with their parents); one not managed is reported missing and never created', async () => {
    const { ou, connector, dns } = await setup(['groups', 'disabled']);
    const dry = await sync(connector, true);
    expect(dry.containers.map((c) => [c.role, c.status])).toEqual([['people', 'missing'], ['groups', 'would-create'], ['disabled', 'would-create']]);
    expect(dry.containers[0]!.detail).toBe('not managed: create it in the directory, or add people to ldap.manageOus');
    expect(dry.entitlements.map((l) => l.status)).toEqual(names.map(() => 'would-create'));
    expect(await exists(ou, `ou=sub,${ou.dn}`)).toBe(false); // the dry run wrote nothing

    const first = await sync(connector);
    expect(first.containers.map((c) => [c.role, c.status])).toEqual([['people', 'missing'], ['groups', 'created'], ['disabled', 'created']]);
    expect(first.entitlements.map((l) => l.status)).toEqual(names.map(() => 'created'));
    expect(await exists(ou, dns.groups)).toBe(true);
    expect(await exists(ou, dns.disabled)).toBe(true);
    expect(await exists(ou, dns.people)).toBe(false);

    const second = await sync(connector);
    expect(second.containers.map((c) => [c.role, c.status])).toEqual([['people', 'missing'], ['groups', 'existing'], ['disabled', 'existing']]);
    expect(second.entitlements.map((l) => l.status)).toEqual(names.map(() => 'existing'));
    expect(await exists(ou, dns.people)).toBe(false);
  });

  it('a groups OU that is missing and not managed: every group is action-required, and nothing is created', async () => {
    const { ou, connector, dns } = await setup([]);
    const report = await sync(connector);
    expect(report.containers.every((c) => c.status === 'missing')).toBe(true);
    expect(report.entitlements.map((l) => l.status)).toEqual(names.map(() => 'action-required'));
    const first = report.entitlements[0]!;
    expect(first.status === 'action-required' && first.message).toBe(
      `directory: cannot create group cn=${names[0]},${dns.groups}: the groups OU ${dns.groups} does not exist (not managed: create it in the directory, or add groups to ldap.manageOus)`,
    );
    expect(await connector.ensureEntitlement({ name: 'staff' }, callContext())).toMatchObject({ status: 'action-required' });
    expect(await exists(ou, `ou=sub,${ou.dn}`)).toBe(false);
  });

  it('an entry under the group DN that is not a groupOfNames, or a group named in another case, is action-required', async () => {
    const { ou, connector } = await setup([], 'existing');
    await ou.admin.add(`cn=vpn-users,${ou.groups}`, { objectClass: ['top', 'organizationalRole'], cn: 'vpn-users' });
    await ou.addGroup('Staff');
    expect(await connector.ensureEntitlement({ name: 'vpn-users' }, callContext())).toEqual({
      status: 'action-required',
      message: `directory: cn=vpn-users,${ou.groups} exists but is not a groupOfNames (objectClass top, organizationalRole); remove or rename it`,
    });
    expect(await connector.ensureEntitlement({ name: 'staff' }, callContext())).toEqual({
      status: 'action-required',
      message: 'directory: the group is named "Staff", not "staff" (LDAP compares cn case-insensitively, entitlements are matched exactly); rename the group or fix the policy',
    });
  });
});
