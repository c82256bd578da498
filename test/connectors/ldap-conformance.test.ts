// The conformance kit against the real local slapd (memberof and refint overlays), each test in its
// own OU, through a TCP proxy that can break connections mid-call; once with disable by moving the
// entry to ou=disabled, once with disable by an attribute value (employeeType: disabled).
import { describeConformance } from '../../connectors/conformance/kit.js';
import type { ConformanceTarget, FaultKind } from '../../connectors/conformance/target.js';
import { escapeDnValue } from '../../connectors/ldap/escape.js';
import { LdapConnector } from '../../connectors/ldap/ldap-connector.js';
import { startLdapFaultProxy } from './helpers/ldap-fault-proxy.js';
import { createTestOu } from './helpers/ldap-ou.js';
import { ldapBindPassword } from '../../schemas/config.js';

const plain = (entry: Record<string, unknown>) => JSON.parse(JSON.stringify(entry)) as unknown;

const target = (mode: 'move' | 'attribute') => async () => {
  const ou = await createTestOu('conf');
  const proxy = await startLdapFaultProxy(ou.cfg.ldap.url);
  const connector = new LdapConnector({
    app: 'ldap-test',
    url: proxy.url,
    bindDn: ou.cfg.ldap.bindDn,
    bindPassword: () => ldapBindPassword(ou.cfg),
    baseDn: ou.dn,
    peopleDn: ou.people,
    groupsDn: ou.groups,
    disable: mode === 'move' ? { mode: 'move', disabledDn: ou.disabled } : { mode: 'attribute', attribute: 'employeeType', value: 'disabled' },
    timeoutMs: 5_000,
  });
  const userDn = async (employeeId: string) => (await ou.byEmployeeNumber(employeeId, ['1.1']))[0]?.dn;
  return {
    connector,
    createEntitlement: (name) => ou.addGroup(name),
    async createForeignAccount({ userName, email }) {
      const dn = `uid=${escapeDnValue(userName)},${ou.people}`;
      await ou.admin.add(dn, { objectClass: ['inetOrgPerson'], uid: userName, cn: userName, sn: 'Foreign', mail: email });
      return {
        snapshot: async () => plain((await ou.admin.search(dn, { scope: 'base', attributes: ['*', 'modifyTimestamp'] })).searchEntries[0]!),
      };
    },
    inspect: {
      accountsWithKey: async (employeeId) => (await ou.byEmployeeNumber(employeeId, ['1.1'])).length,
      async allKeys() {
        const { searchEntries } = await ou.admin.search(ou.dn, { scope: 'sub', filter: '(objectClass=inetOrgPerson)', attributes: ['employeeNumber'] });
        return searchEntries.map((e) => String(e.employeeNumber ?? ''));
      },
      async isMember(employeeId, group) {
        const dn = await userDn(employeeId);
        if (!dn) return false;
        // The server compares the DN (distinguishedNameMatch), not this test.
        return ou.admin.compare(`cn=${escapeDnValue(group)},${ou.groups}`, 'member', dn);
      },
      snapshot: async (employeeId) => (await ou.byEmployeeNumber(employeeId)).map(plain),
    },
    faults: {
      supported: new Set<FaultKind>(['connection-reset', 'drop-after-commit']),
      async inject(kind, times) {
        proxy.stats.reset = 0;
        proxy.stats.dropped = 0;
        if (kind === 'connection-reset') proxy.resetNextWrites(times);
        if (kind === 'drop-after-commit') proxy.dropAfterCommitNext(times);
      },
      fired: async (kind) => (kind === 'connection-reset' ? proxy.stats.reset : kind === 'drop-after-commit' ? proxy.stats.dropped : 0),
      clear: async () => proxy.clear(),
    },
    async close() {
      await connector.close();
      await proxy.close();
      await ou.close();
    },
  } satisfies ConformanceTarget;
};

const faultKinds: FaultKind[] = ['connection-reset', 'drop-after-commit'];
const attributeNames = { identifier: 'uid', familyName: 'sn', email: 'mail', title: 'title', manager: 'manager' };
describeConformance('LDAP (slapd, disable by moving to ou=disabled)', target('move'), { faultKinds, attributeNames });
describeConformance('LDAP (slapd, disable by an attribute value)', target('attribute'), { faultKinds, attributeNames });
