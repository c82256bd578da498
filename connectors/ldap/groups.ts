// LDAP groups by identity: a policy entitlement is the groupOfNames `cn=<name>,<groupsDn>`. A DN
// names one entry, so two groups with one name cannot exist here; what can is an entry of another
// class under that DN, or the group under a cn differing in case (LDAP compares cn
// case-insensitively, the entitlement catalog compares names exactly): both are action-required.
//   find     read the DN (base search): a groupOfNames whose cn is exactly the name → existing;
//            no entry → missing (action-required when the groups OU is missing and not managed).
//   ensure   find; missing → add with the placeholder member (RFC 4519 §3.5: groupOfNames needs
//            one): 68 entryAlreadyExists (a racing add) → find again; 32 noSuchObject (no groups
//            OU) → create the OU when managed and add again, else action-required.
import type { Entry } from 'ldapts';
import type { CallContext, EnsureEntitlementResult, FindEntitlementResult } from '../contract.js';
import { NotFoundError } from '../errors.js';
import type { LdapContainers } from './containers.js';
import { values, type EntryMapping } from './entries.js';
import type { LdapPool } from './pool.js';
import { LdapResult, resultCode } from './result-codes.js';

export class LdapGroups {
  constructor(
    private readonly app: string,
    private readonly pool: LdapPool,
    private readonly entries: EntryMapping,
    private readonly containers: LdapContainers,
  ) {}

  async find(name: string, call: CallContext): Promise<FindEntitlementResult> {
    const dn = this.entries.groupDn(name);
    const entry = await this.read(dn, call);
    if (entry) return this.judge(entry, name);
    const groupsOu = await this.containers.ensureOne('groups', false, call);
    if (groupsOu.status === 'missing' && !groupsOu.managed) return { status: 'action-required', message: `${this.app}: cannot create group ${dn}: the groups OU ${groupsOu.id} does not exist (${groupsOu.detail})` };
    return { status: 'missing' };
  }

  async ensure(name: string, call: CallContext, ouJustMade = false): Promise<EnsureEntitlementResult> {
    const found = await this.find(name, call);
    if (found.status !== 'missing') return found;
    const dn = this.entries.groupDn(name);
    try {
      await this.add(dn, name, call);
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.noSuchObject && !ouJustMade) {
        // The groups OU is missing: find() said it is managed, so make it and add again.
        const ou = await this.containers.ensureOne('groups', true, call);
        if (ou.status !== 'created' && ou.status !== 'existing') return { status: 'action-required', message: `${this.app}: cannot create group ${dn}: the groups OU ${ou.id} is missing (${ou.detail ?? 'not created'})` };
        return this.ensure(name, call, true);
      }
      if (code !== LdapResult.entryAlreadyExists) throw this.pool.error('add group', err);
      const again = await this.find(name, call);
      if (again.status === 'missing') return { status: 'action-required', message: `${this.app}: ${dn} exists (68) but cannot be read: check the bind DN's read rights` };
      return again;
    }
    return { status: 'created', entitlement: this.entries.entitlement({ dn, cn: name }) };
  }

  private judge(entry: Entry, name: string): FindEntitlementResult {
    const classes = values(entry, 'objectClass').map((c) => c.toLowerCase());
    if (!classes.includes('groupofnames')) {
      return { status: 'action-required', message: `${this.app}: ${entry.dn} exists but is not a groupOfNames (objectClass ${values(entry, 'objectClass').join(', ')}); remove or rename it` };
    }
    const cn = this.entries.entitlementId(entry.dn);
    if (cn !== name) {
      return { status: 'action-required', message: `${this.app}: the group is named ${JSON.stringify(cn)}, not ${JSON.stringify(name)} (LDAP compares cn case-insensitively, entitlements are matched exactly); rename the group or fix the policy` };
    }
    return { status: 'existing', entitlement: this.entries.entitlement(entry) };
  }

  private async read(dn: string, call: CallContext): Promise<Entry | undefined> {
    try {
      return (await this.pool.search(dn, undefined, ['objectClass', 'cn', 'description'], call, 'read group', 'base'))[0];
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private async add(dn: string, name: string, call: CallContext): Promise<void> {
    await this.pool.run('add', call, (c) => c.add(dn, { objectClass: ['top', 'groupOfNames'], cn: name, member: this.entries.placeholder(dn) }));
  }
}
