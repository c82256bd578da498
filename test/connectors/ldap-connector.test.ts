// The LDAP connector's own duties beyond the kit, against the real slapd: the groupOfNames
// placeholder, the last member of a group someone else made, collisions across OUs, credentials
// from config and never in errors or logs, listing cursors.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { callContext, person } from '../../connectors/conformance/harness.js';
import type { AccountRef } from '../../connectors/contract.js';
import { AuthError, InvalidRequestError } from '../../connectors/errors.js';
import { escapeDnValue } from '../../connectors/ldap/escape.js';
import { LdapConnector, type LdapConnectorOptions } from '../../connectors/ldap/ldap-connector.js';
import { createTestOu, type TestOu } from './helpers/ldap-ou.js';
import { ldapBindPassword } from '../../schemas/config.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(extra: Partial<LdapConnectorOptions> = {}): Promise<{ ou: TestOu; connector: LdapConnector }> {
  const ou = await createTestOu('ldap');
  open.push(ou);
  const connector = new LdapConnector({
    app: 'dir',
    url: ou.cfg.ldap.url,
    bindDn: ou.cfg.ldap.bindDn,
    bindPassword: () => ldapBindPassword(ou.cfg),
    baseDn: ou.dn,
    peopleDn: ou.people,
    groupsDn: ou.groups,
    disable: { mode: 'move', disabledDn: ou.disabled },
    ...extra,
  });
  open.push(connector);
  return { ou, connector };
}

const members = async (ou: TestOu, group: string) => {
  const { searchEntries } = await ou.admin.search(`cn=${escapeDnValue(group)},${ou.groups}`, { scope: 'base', attributes: ['member'] });
  const v = searchEntries[0]?.member;
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
};

describe('LDAP groups (groupOfNames needs a member)', () => {
  it('groups made by the connector carry the configured placeholder, which is never listed as a grant', async () => {
    const ou0 = await createTestOu('ph');
    open.push(ou0);
    const placeholder = `cn=placeholder,${ou0.groups}`;
    const { ou, connector } = await setup({ placeholderMemberDn: placeholder });
    expect(await connector.ensureEntitlement({ name: 'admins' }, callContext())).toMatchObject({ status: 'created' });
    expect(await connector.ensureEntitlement({ name: 'admins' }, callContext())).toMatchObject({ status: 'existing' });
    expect(await members(ou, 'admins')).toEqual([placeholder]);
    const { account } = (await connector.ensureAccount(person('E-PH', 'ph.user'), callContext())) as { account: AccountRef };
    expect(await connector.grant({ account, entitlementId: 'admins' }, callContext())).toEqual({ status: 'applied' });
    expect(await connector.revoke({ account, entitlementId: 'admins' }, callContext())).toEqual({ status: 'applied' });
    expect(await members(ou, 'admins')).toEqual([placeholder]);
    const listed = await connector.listEntitlements({}, callContext());
    expect(listed.items).toEqual([{ app: 'dir', id: 'admins', displayName: 'admins' }]);
  });

  it('revoking the last member of a group someone else made keeps the group valid with the placeholder', async () => {
    const { ou, connector } = await setup();
    const { account } = (await connector.ensureAccount(person('E-LAST', 'last.member'), callContext())) as { account: AccountRef };
    const groupDn = `cn=foreign,${ou.groups}`;
    await ou.admin.add(groupDn, { objectClass: ['groupOfNames'], cn: 'foreign', member: account.id });
    expect(await connector.revoke({ account, entitlementId: 'foreign' }, callContext())).toEqual({ status: 'applied' });
    expect(await members(ou, 'foreign')).toEqual([groupDn]);
    expect(await connector.revoke({ account, entitlementId: 'foreign' }, callContext())).toEqual({ status: 'already-in-state' });
  });
});

describe('LDAP moves and referential integrity', () => {
  it('a disable returns only once member DNs point at the moved entry, rewriting them itself if refint is late', async () => {
    // refintWaitMs 0: the connector does not wait for slapd's refint thread and rewrites at once;
    // refint, arriving later, must find nothing left to do.
    const { ou, connector } = await setup({ refintWaitMs: 0 });
    await ou.addGroup('movers');
    const { account } = (await connector.ensureAccount(person('E-RI', 'ri.user'), callContext())) as { account: AccountRef };
    await connector.grant({ account, entitlementId: 'movers' }, callContext());
    await connector.disableAccount({ account }, callContext());
    const moved = `uid=ri.user,${ou.disabled}`;
    const groupDn = `cn=movers,${ou.groups}`;
    expect(await ou.admin.compare(groupDn, 'member', moved)).toBe(true);
    expect(await ou.admin.compare(groupDn, 'member', account.id)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect((await members(ou, 'movers')).map((m) => m.toLowerCase()).sort()).toEqual([groupDn, moved].map((m) => m.toLowerCase()).sort());
    expect(await connector.revoke({ account, entitlementId: 'movers' }, callContext())).toEqual({ status: 'applied' });
  });
});

describe('LDAP collisions', () => {
  it('a uid held by another person in the disabled OU is a collision, not a second login', async () => {
    const { connector } = await setup();
    const { account } = (await connector.ensureAccount(person('E-OLD', 'jdoe'), callContext())) as { account: AccountRef };
    await connector.disableAccount({ account }, callContext());
    const result = await connector.ensureAccount(person('E-NEW', 'jdoe'), callContext());
    expect(result.status).toBe('action-required');
    expect((result as { message: string }).message).toMatch(/another person/);
    expect(await connector.getAccount({ employeeId: 'E-NEW' }, callContext())).toBeUndefined();
  });

  it('entries outside the people and disabled OUs are not correlated, but their uids still count as taken', async () => {
    const { ou, connector } = await setup();
    const elsewhere = `ou=contractors,${ou.dn}`;
    await ou.admin.add(elsewhere, { objectClass: ['organizationalUnit'], ou: 'contractors' });
    await ou.admin.add(`uid=outsider,${elsewhere}`, { objectClass: ['inetOrgPerson'], uid: 'outsider', cn: 'Out', sn: 'Sider', employeeNumber: 'E-OUT' });
    expect(await connector.getAccount({ employeeId: 'E-OUT' }, callContext())).toBeUndefined();
    expect((await connector.ensureAccount(person('E-OUT', 'outsider'), callContext())).status).toBe('action-required');
    expect((await connector.ensureAccount(person('E-OUT', 'insider'), callContext())).status).toBe('created');
    expect((await connector.getAccount({ employeeId: 'E-OUT' }, callContext()))?.id).toBe(`uid=insider,${ou.people}`);
  });

  it("renaming onto another person's uid is action-required and leaves both entries as they were", async () => {
    const { connector } = await setup();
    await connector.ensureAccount(person('E-R1', 'first.name'), callContext());
    await connector.ensureAccount(person('E-R2', 'second.name'), callContext());
    const result = await connector.ensureAccount(person('E-R2', 'First.Name'), callContext());
    expect(result.status).toBe('action-required');
    expect((await connector.getAccount({ employeeId: 'E-R2' }, callContext()))?.userName).toBe('second.name');
    expect((await connector.getAccount({ employeeId: 'E-R1' }, callContext()))?.userName).toBe('first.name');
  });

  it('disabling when the disabled OU already holds an entry of that name is InvalidRequestError, nothing moved', async () => {
    const { ou, connector } = await setup();
    const { account } = (await connector.ensureAccount(person('E-MV', 'mover'), callContext())) as { account: AccountRef };
    await ou.admin.add(`uid=mover,${ou.disabled}`, { objectClass: ['inetOrgPerson'], uid: 'mover', cn: 'Stale', sn: 'Stale' });
    await expect(connector.disableAccount({ account }, callContext())).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await connector.getAccount({ employeeId: 'E-MV' }, callContext()))?.active).toBe(true);
  });
});

describe('LDAP credentials and listings', () => {
  it('reads the bind password from the environment variable named in config; a wrong one is AuthError without the password', async () => {
    const ou = await createTestOu('cred');
    open.push(ou);
    const env: NodeJS.ProcessEnv = { DIR_BIND_PASSWORD: 'wrong-bind-password-5521' };
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, done) => void (lines.push(c.toString()), done()) }));
    const config = parseConnectorConfig({
      type: 'ldap',
      app: 'dir',
      url: ou.cfg.ldap.url,
      bindDn: ou.cfg.ldap.bindDn,
      bindPassword: { env: 'DIR_BIND_PASSWORD' },
      baseDn: ou.dn,
      peopleDn: ou.people,
      groupsDn: ou.groups,
      disable: { mode: 'attribute', attribute: 'employeeType', value: 'disabled' },
    });
    const connector = createConnector(config, { env, logger });
    open.push({ close: async () => connector.close?.() });
    const refused = await connector.getAccount({ employeeId: 'E-1' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as Error).message).toMatch(/invalid credentials/);
    // Rotated: the next call binds afresh with the new value.
    env.DIR_BIND_PASSWORD = ou.cfg.ldap.bindPassword;
    expect((await connector.ensureAccount(person('E-CRED', 'cred.user'), callContext())).status).toBe('created');
    const everything = [(refused as Error).message, (refused as Error).stack ?? '', ...lines].join('\n');
    expect(everything).not.toContain('wrong-bind-password-5521');
    expect(everything).not.toContain(ou.cfg.ldap.bindPassword);
  });

  it('a listing cursor from elsewhere is InvalidRequestError; an abandoned listing does not block new ones', async () => {
    const { connector } = await setup({ pageSize: 2 });
    for (const k of ['1', '2', '3', '4', '5']) await connector.ensureAccount(person(`E-P${k}`, `pager.${k}`), callContext());
    await expect(connector.listAccounts({ cursor: 'not-a-listing' }, callContext())).rejects.toBeInstanceOf(InvalidRequestError);
    const first = await connector.listAccounts({}, callContext());
    expect(first.items).toHaveLength(2);
    expect(first.next).toBeDefined();
    // Abandon it and list again from the start, page by page.
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listAccounts(cursor ? { cursor } : {}, callContext());
      keys.push(...page.items.map((a) => a.externalId));
      cursor = page.next;
    } while (cursor);
    expect(keys.sort()).toEqual(['E-P1', 'E-P2', 'E-P3', 'E-P4', 'E-P5']);
  });
});
