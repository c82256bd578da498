// Writes the reconciliation benchmark's accounts (reconcile-population.ts) into the two real
// applications, fast and cleaned up afterwards:
//   SCIM     the target app's own state file (targets/state-file.ts, the format it persists and
//            loads), with the ids, versions and group members it would hold after the same
//            creates; the app process (dist/targets/main.js) starts on it. 100,000 users through
//            POST /Users would take minutes and measure nothing the listing needs.
//   LDAP     a private OU under the local slapd's base (people, groups, disabled), the entries
//            added over several connections at once, the groups' members added in batches (the
//            memberof overlay writes each member's memberOf, as for any grant); removed at the end.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Attribute, Change, type Client } from 'ldapts';
import { escapeDnValue } from '../../connectors/ldap/escape.js';
import type { StoreSnapshot, StoredRecord } from '../../targets/store.js';
import { GROUPS, type SeedAccount } from './reconcile-population.js';

/** A UUID made from a name, so a seeded id is the same in every run of one population. */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const scimUserId = (account: SeedAccount) => nameUuid(`user/${account.key}`);
export const scimGroupId = (group: number) => nameUuid(`group/${GROUPS[group]}`);

/** The SCIM app's state: every account as a User, the groups with their members. */
export function scimSnapshot(accounts: readonly SeedAccount[], now = new Date()): StoreSnapshot {
  const at = now.toISOString();
  let sequence = 0;
  const meta = () => ({ created: at, lastModified: at, version: `W/"${(sequence += 1)}"` });
  const members: Array<Array<{ value: string; type: 'User' }>> = GROUPS.map(() => []);
  const users: StoredRecord[] = accounts.map((a) => {
    const id = scimUserId(a);
    for (const g of a.groups) members[g]!.push({ value: id, type: 'User' });
    return {
      ...(a.externalId !== undefined ? { externalId: a.externalId } : {}),
      userName: a.userName,
      name: { familyName: a.familyName, givenName: a.givenName },
      displayName: `${a.givenName} ${a.familyName}`,
      title: a.title,
      active: a.active,
      emails: [{ value: a.email, type: 'work', primary: true }],
      id,
      meta: meta(),
    };
  });
  const groups: StoredRecord[] = GROUPS.map((displayName, g) => ({ displayName, members: members[g]!, id: scimGroupId(g), meta: meta() }));
  return { format: 1, sequence, users, groups };
}

export function writeScimState(file: string, accounts: readonly SeedAccount[]): void {
  writeFileSync(file, JSON.stringify(scimSnapshot(accounts)));
}

export type BenchOu = { dn: string; people: string; groups: string; disabled: string };

export function benchOu(baseDn: string, name: string): BenchOu {
  const dn = `ou=${escapeDnValue(name)},${baseDn}`;
  return { dn, people: `ou=people,${dn}`, groups: `ou=groups,${dn}`, disabled: `ou=disabled,${dn}` };
}

/** The DN the directory seeder gives an account: enabled ones in people, disabled ones in the disabled OU. */
export const ldapDn = (ou: BenchOu, a: SeedAccount) => `uid=${escapeDnValue(a.userName)},${a.active ? ou.people : ou.disabled}`;
export const ldapGroupDn = (ou: BenchOu, group: number) => `cn=${escapeDnValue(GROUPS[group]!)},${ou.groups}`;

/** Runs `fn` over `items` with at most `parallel` at once. */
async function pool<T>(items: readonly T[], parallel: number, fn: (item: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, worker) => {
      while (next < items.length) {
        const item = items[next++]!;
        await fn(item, worker);
      }
    }),
  );
}

/** Adds the OU, the accounts and the groups with their members; `clients` share the work. */
export async function seedDirectory(clients: readonly Client[], ou: BenchOu, accounts: readonly SeedAccount[], name: string): Promise<void> {
  const admin = clients[0]!;
  await admin.add(ou.dn, { objectClass: ['top', 'organizationalUnit'], ou: name });
  for (const sub of ['people', 'groups', 'disabled'] as const) await admin.add(ou[sub], { objectClass: ['top', 'organizationalUnit'], ou: sub });
  // LDAP multiplexes operations on a connection: a few in flight on each keep slapd's threads busy.
  const perClient = 8;
  await pool(accounts, clients.length * perClient, async (a, worker) => {
    await clients[worker % clients.length]!.add(ldapDn(ou, a), {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: a.userName,
      ...(a.externalId !== undefined ? { employeeNumber: a.externalId } : {}),
      cn: `${a.givenName} ${a.familyName}`,
      sn: a.familyName,
      givenName: a.givenName,
      displayName: `${a.givenName} ${a.familyName}`,
      mail: a.email,
      title: a.title,
    });
  });
  const batches: Array<{ group: number; dns: string[] }> = [];
  const batchSize = 500;
  for (let g = 0; g < GROUPS.length; g += 1) {
    const groupDn = ldapGroupDn(ou, g);
    // The group's own DN is its placeholder member (connectors/ldap: groupOfNames needs one).
    await admin.add(groupDn, { objectClass: ['top', 'groupOfNames'], cn: GROUPS[g]!, member: groupDn });
    const dns = accounts.filter((a) => a.groups.includes(g)).map((a) => ldapDn(ou, a));
    for (let i = 0; i < dns.length; i += batchSize) batches.push({ group: g, dns: dns.slice(i, i + batchSize) });
  }
  // One modify per batch; batches of one group run one at a time (they change one entry).
  const byGroup = GROUPS.map((_, g) => batches.filter((b) => b.group === g));
  await Promise.all(
    byGroup.map(async (list, g) => {
      for (const b of list) {
        await clients[g % clients.length]!.modify(ldapGroupDn(ou, b.group), new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: b.dns }) }));
      }
    }),
  );
}

/** Deletes the OU and everything under it: groups first, so neither refint nor memberof has members to rewrite. */
export async function removeDirectory(clients: readonly Client[], ou: BenchOu): Promise<void> {
  const admin = clients[0]!;
  for (let g = 0; g < GROUPS.length; g += 1) await admin.del(ldapGroupDn(ou, g)).catch(() => undefined);
  const { searchEntries } = await admin.search(ou.dn, { scope: 'sub', attributes: ['1.1'], paged: { pageSize: 1000 } });
  const leaves = searchEntries.map((e) => e.dn).filter((dn) => dn.toLowerCase().startsWith('uid='));
  await pool(leaves, clients.length * 8, async (dn, worker) => {
    await clients[worker % clients.length]!.del(dn).catch(() => undefined);
  });
  const rest = searchEntries.map((e) => e.dn).filter((dn) => !dn.toLowerCase().startsWith('uid=')).sort((a, b) => b.length - a.length);
  for (const dn of rest) await admin.del(dn).catch(() => undefined);
}
