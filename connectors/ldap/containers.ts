// The organisational units the LDAP connector keeps people, groups and disabled accounts in. An
// external directory is someone else's tree: an OU is created only when the configuration says to
// manage it (ldap.manageOus), together with the missing OUs between it and the base DN; one we are
// not told to manage is reported missing and left for its owner to create.
import type { CallContext, Container } from '../contract.js';
import { NotFoundError } from '../errors.js';
import { formatDn, normalizeDn, parseDn } from './escape.js';
import type { LdapPool } from './pool.js';
import { LdapResult, resultCode } from './result-codes.js';

export const managedOuRoles = ['people', 'groups', 'disabled'] as const;
export type ManagedOu = (typeof managedOuRoles)[number];

export type ContainerLayout = {
  baseDn: string;
  /** Each OU the connector uses, by role (disabled only when disabling moves entries). */
  ous: ReadonlyArray<{ role: ManagedOu; dn: string }>;
  /** The roles whose OU we may create. */
  manage: ReadonlySet<ManagedOu>;
};

export class LdapContainers {
  constructor(
    private readonly app: string,
    private readonly pool: LdapPool,
    private readonly layout: ContainerLayout,
  ) {}

  managed(role: ManagedOu): boolean {
    return this.layout.manage.has(role);
  }

  /** Every OU the connector uses, created where managed when `create`, else only read. */
  async ensure(create: boolean, call: CallContext): Promise<Container[]> {
    const out: Container[] = [];
    for (const { role } of this.layout.ous) out.push(await this.ensureOne(role, create, call));
    return out;
  }

  async ensureOne(role: ManagedOu, create: boolean, call: CallContext): Promise<Container> {
    const dn = this.layout.ous.find((o) => o.role === role)?.dn;
    if (dn === undefined) throw new TypeError(`${this.app}: the connector uses no ${role} OU`);
    const managed = this.managed(role);
    if (await this.exists(dn, call)) return { role, id: dn, managed, status: 'existing' };
    if (!managed) return { role, id: dn, managed, status: 'missing', detail: `not managed: create it in the directory, or add ${role} to ldap.manageOus` };
    const chain = this.chain(dn);
    if (typeof chain === 'string') return { role, id: dn, managed, status: 'missing', detail: chain };
    if (!create) return { role, id: dn, managed, status: 'missing' };
    for (const level of chain) await this.addOu(level, call);
    return { role, id: dn, managed, status: 'created' };
  }

  async exists(dn: string, call: CallContext): Promise<boolean> {
    try {
      return (await this.pool.search(dn, undefined, ['1.1'], call, `read ${dn}`, 'base')).length === 1;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** The DNs from just below the base down to `dn`, parents first; or why they cannot be created. */
  private chain(dn: string): string[] | string {
    const rdns = parseDn(dn);
    const base = parseDn(this.layout.baseDn);
    const below = rdns.length - base.length;
    if (below < 1 || normalizeDn(formatDn(rdns.slice(below))) !== normalizeDn(this.layout.baseDn)) return `not below the base DN ${this.layout.baseDn}: create it in the directory`;
    const levels = rdns.slice(0, below);
    if (levels.some((rdn) => rdn.length !== 1 || rdn[0]!.type.toLowerCase() !== 'ou')) return 'only organizational units (ou=...) are created: create it in the directory';
    return levels.map((_, i) => formatDn(rdns.slice(below - 1 - i)));
  }

  /** Adds one OU; 68 entryAlreadyExists (it exists, or a racing sync made it) is what we wanted. */
  private async addOu(dn: string, call: CallContext): Promise<void> {
    const ou = parseDn(dn)[0]![0]!.value;
    try {
      await this.pool.run('add', call, (c) => c.add(dn, { objectClass: ['top', 'organizationalUnit'], ou }));
    } catch (err) {
      if (resultCode(err) !== LdapResult.entryAlreadyExists) throw this.pool.error(`add organizational unit ${dn}`, err);
    }
  }
}
