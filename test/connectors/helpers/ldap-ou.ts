// A private OU under the local slapd's base for one test: people, groups and disabled under it,
// an admin client that reads the server without the connector under test, and a teardown that
// deletes the whole subtree.
import { Attribute, Change, EqualityFilter, type Client, type Entry } from 'ldapts';
import { bindLdap, directoryConnectOptions } from '../../../connectors/ldap/connect.js';
import { escapeDnValue } from '../../../connectors/ldap/escape.js';
import { ldapBindPassword, loadConfig, type Config } from '../../../schemas/config.js';
import { uniqueName } from '../../helpers/unique.js';

export type TestOu = {
  cfg: Config;
  dn: string;
  people: string;
  groups: string;
  disabled: string;
  admin: Client;
  /** Entries (any class) whose employeeNumber is exactly `employeeId`. */
  byEmployeeNumber(employeeId: string, attributes?: string[]): Promise<Entry[]>;
  /** Adds a groupOfNames `cn=<name>` whose placeholder member is itself (as the connector does). */
  addGroup(name: string): Promise<string>;
  close(): Promise<void>;
};

export async function createTestOu(prefix = 'conf'): Promise<TestOu> {
  const cfg = loadConfig();
  const admin = await bindLdap(directoryConnectOptions(cfg, { timeoutMs: 10_000, connectTimeoutMs: 5_000 }), cfg.ldap.bindDn, ldapBindPassword(cfg));
  const name = uniqueName(prefix);
  const dn = `ou=${escapeDnValue(name)},${cfg.ldap.baseDn}`;
  await admin.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: name });
  const sub = {} as Record<'people' | 'groups' | 'disabled', string>;
  for (const ou of ['people', 'groups', 'disabled'] as const) {
    sub[ou] = `ou=${ou},${dn}`;
    await admin.add(sub[ou], { objectClass: ['top', 'organizationalUnit'], ou });
  }
  return {
    cfg,
    dn,
    ...sub,
    admin,
    async byEmployeeNumber(employeeId, attributes = ['*', 'modifyTimestamp', 'memberOf']) {
      const { searchEntries } = await admin.search(dn, { scope: 'sub', filter: new EqualityFilter({ attribute: 'employeeNumber', value: employeeId }), attributes: [...attributes, 'employeeNumber'] });
      return searchEntries.filter((e) => {
        const v = e.employeeNumber;
        return (Array.isArray(v) ? v : [v]).map(String).includes(employeeId);
      });
    },
    async addGroup(group) {
      const groupDn = `cn=${escapeDnValue(group)},${sub.groups}`;
      await admin.add(groupDn, { objectClass: ['top', 'groupOfNames'], cn: group, member: groupDn });
      return group;
    },
    async close() {
      try {
        const { searchEntries } = await admin.search(dn, { scope: 'sub', attributes: ['1.1'] });
        // Deepest first; plain string length is a good enough proxy for depth within one subtree.
        const dns = searchEntries.map((e) => e.dn).sort((a, b) => b.length - a.length);
        // Empty the groups first so refint has nothing to rewrite while users go.
        for (const entry of dns.filter((d) => d.toLowerCase().startsWith('cn='))) {
          await admin.modify(entry, new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: [entry] }) })).catch(() => undefined);
        }
        for (const entry of dns) await admin.del(entry).catch(() => undefined);
      } finally {
        await admin.unbind().catch(() => undefined);
      }
    },
  };
}
