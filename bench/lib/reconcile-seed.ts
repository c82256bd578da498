// Writes the reconciliation benchmark's accounts (reconcile-population.ts) into the two real
// applications, fast and cleaned up afterwards:
//   SCIM     the target app's own state file (targets/state-file.ts, the format it persists and
//            loads), with the ids, versions and group members it would hold after the same
//            creates; the app process (dist/targets/main.js) starts on it. 100,000 users through
//            POST /Users would take minutes and measure nothing the listing needs.
//   LDAP     the bench's own slapd (the stack's slapd.conf: same modules, overlays and indexes, on
//            its own port and data folder), loaded offline by slapadd from LDIF with each entry's
//            memberOf as the memberof overlay writes it, then started; stopped and deleted at the
//            end. The shared slapd of the stack took ~60 adds/s (a synchronous commit per add, and
//            other sessions' load): 100,000 entries would take half an hour.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
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

/** One LDIF record (RFC 2849); the values here are ASCII without leading spaces or colons. */
function ldif(dn: string, attributes: Record<string, string | string[]>): string {
  const lines = [`dn: ${dn}`];
  for (const [name, value] of Object.entries(attributes)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return `${lines.join('\n')}\n\n`;
}

/**
 * The directory as LDIF for slapadd: the base, the OU, the accounts and the groups with their
 * members, and each account's memberOf as the memberof overlay keeps it (slapadd runs no overlay).
 */
export function directoryLdif(baseDn: string, ou: BenchOu, accounts: readonly SeedAccount[], name: string): string {
  const dc = /^dc=([^,]+)/i.exec(baseDn)?.[1] ?? 'provisioner';
  const out = [ldif(baseDn, { objectClass: ['top', 'dcObject', 'organization'], dc, o: dc }), ldif(ou.dn, { objectClass: ['top', 'organizationalUnit'], ou: name })];
  for (const sub of ['people', 'groups', 'disabled'] as const) out.push(ldif(ou[sub], { objectClass: ['top', 'organizationalUnit'], ou: sub }));
  const members: string[][] = GROUPS.map((_, g) => [ldapGroupDn(ou, g)]); // the group's own DN: its placeholder member
  for (const a of accounts) {
    const dn = ldapDn(ou, a);
    for (const g of a.groups) members[g]!.push(dn);
    out.push(
      ldif(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: a.userName,
        ...(a.externalId !== undefined ? { employeeNumber: a.externalId } : {}),
        cn: `${a.givenName} ${a.familyName}`,
        sn: a.familyName,
        givenName: a.givenName,
        displayName: `${a.givenName} ${a.familyName}`,
        mail: a.email,
        title: a.title,
        ...(a.groups.length > 0 ? { memberOf: a.groups.map((g) => ldapGroupDn(ou, g)) } : {}),
      }),
    );
  }
  GROUPS.forEach((cn, g) => out.push(ldif(ldapGroupDn(ou, g), { objectClass: ['top', 'groupOfNames'], cn, member: members[g]! })));
  return out.join('');
}
