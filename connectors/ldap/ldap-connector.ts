// LDAP (OpenLDAP slapd, via ldapts): users as inetOrgPerson entries `uid=<userName>,<peopleDn>`
// correlated by employeeNumber = employee id; groups as groupOfNames `cn=<id>,<groupsDn>`; disable
// by moving the entry to the disabled OU (the refint overlay rewrites member DNs) or by an
// attribute value; delete.
//
// Outcomes per verb, from a read or from the server's own result code, never from a blanket rule:
//   ensure   search by employeeNumber → add | modify/modifyDN | nothing (unchanged). Add answered 68
//            entryAlreadyExists → search by employeeNumber again: found → converge (our own earlier
//            add whose answer was lost); else the uid is held by an entry we did not create →
//            action-required. A uid held anywhere under the base by another entry is a collision
//            too (a second uid=jdoe in another OU would be a second login).
//   update   search by employeeNumber: every value there → already-in-state; else one modify of
//            exactly the differing attributes, and a changed uid (where the plan allows renames) a
//            modifyDN of the RDN within the entry's own OU; a uid another entry holds under the base
//            is refused (InvalidRequestError).
//   grant    modify add member: 0 → applied; 20 attributeOrValueExists → already-in-state.
//   revoke   modify delete member: 0 → applied; 16 noSuchAttribute → already-in-state; 65
//            objectClassViolation (the last member of a group without our placeholder) → add the
//            placeholder and delete the member in one modify.
//   disable  move: the entry is already under the disabled OU → already-in-state; else modifyDN.
//            attribute: modify add the value: 20 → already-in-state (enable: delete it, 16 → already).
//   delete   no entry, or 32 noSuchObject → already-in-state.
// groupOfNames requires at least one member (RFC 4519 §3.5). Groups this connector creates carry a
// placeholder member: `placeholderMemberDn` when configured (e.g. `cn=placeholder,ou=groups,...`),
// else the group's own DN, which exists exactly as long as the group, is never a person, and which
// the memberof overlay ignores. Listings and grants never report the placeholder.
//
// The transport lives beside this file: the connection pool, bind and timeouts (pool.ts), paged
// listings (paged-search.ts), entries as accounts and entitlements (entries.ts), waiting for refint
// after a move (memberships.ts), the result-code table (result-codes.ts).
import { AndFilter, Attribute, Change, type Entry, type Filter } from 'ldapts';
import type { Logger } from 'pino';
import type {
  Account,
  AccountRef,
  CallContext,
  Capability,
  ChangeOutcome,
  Connector,
  DeleteCapable,
  DisableCapable,
  EnsureAccountRequest,
  Container,
  EnsureAccountResult,
  EnsureEntitlementResult,
  EntitlementCapable,
  EntitlementNameRequest,
  EntitlementSyncCapable,
  Entitlement,
  FindEntitlementResult,
  GrantRequest,
  ListAccountsCapable,
  Page,
  PageRequest,
  RevokeRequest,
  UpdateAccountRequest,
  UpdateCapable,
} from '../contract.js';
import { InvalidRequestError, NotFoundError, TransientError } from '../errors.js';
import type { LdapTlsOptions } from './connect.js';
import { LdapContainers, type ManagedOu } from './containers.js';
import { attributeChange, EntryMapping, eq, first, MAPPED_ATTRIBUTES, USER_ATTRIBUTES, values, type LdapDisableMode } from './entries.js';
import { escapeDnValue, firstRdn, formatParent, normalizeDn, parseDn, sameDn } from './escape.js';
import { LdapGroups } from './groups.js';
import { settleMemberships, type SettleOptions } from './memberships.js';
import { PagedSearches } from './paged-search.js';
import { LdapPool } from './pool.js';
import { LdapResult, resultCode } from './result-codes.js';

export type { LdapDisableMode } from './entries.js';
export type { ManagedOu } from './containers.js';

export type LdapConnectorOptions = {
  app: string;
  /** ldap:// or ldaps://. */
  url: string;
  /** TLS: the pinned CA (ldaps:// or StartTLS), StartTLS on an ldap:// URL (./connect.ts). */
  tls?: LdapTlsOptions;
  bindDn: string;
  /** Read on every bind, so a rotated password is used on the next connection. */
  bindPassword: () => string;
  /**
   * A userName (uid) must be unique under this DN: an entry anywhere below it holding the uid is a
   * collision (a second uid=jdoe in another OU would be a second login). Accounts themselves are
   * correlated and listed only in peopleDn and, when disabling moves, disabledDn.
   */
  baseDn: string;
  /** New accounts are created here. */
  peopleDn: string;
  /** Entitlements are the groupOfNames entries directly under this DN; an entitlement id is the group's cn. */
  groupsDn: string;
  disable: LdapDisableMode;
  /** The OUs (by role) that may be created when missing; others are reported missing. Default none. */
  manageOus?: readonly ManagedOu[];
  /** The member every group we create keeps, so it is never empty. Default: the group's own DN. */
  placeholderMemberDn?: string;
  /** Per LDAP operation. Default 10 s. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Entries per page of a listing. Default 200. */
  pageSize?: number;
  /** Connections shared by all calls (LDAP multiplexes operations on one). Default 2. */
  connections?: number;
  /** Idle listings are closed after this long. Default 5 minutes. */
  listingIdleMs?: number;
  /** How long a rename, move or delete waits for the refint overlay before rewriting member DNs itself. Default 3 s. */
  refintWaitMs?: number;
  logger?: Logger;
};

export class LdapConnector implements Connector, UpdateCapable, DisableCapable, DeleteCapable, ListAccountsCapable, EntitlementCapable, EntitlementSyncCapable {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['accounts', 'update', 'disable', 'delete', 'list-accounts', 'entitlements', 'entitlement-sync']);
  private readonly log: Logger | undefined;
  private readonly pool: LdapPool;
  private readonly listings: PagedSearches;
  private readonly entries: EntryMapping;
  private readonly refint: SettleOptions;
  private readonly containers: LdapContainers;
  private readonly groups: LdapGroups;

  constructor(private readonly options: LdapConnectorOptions) {
    this.app = options.app;
    this.log = options.logger?.child({ app: options.app, connector: 'ldap' });
    this.pool = new LdapPool({ ...options, log: this.log });
    this.listings = new PagedSearches(this.pool, options);
    const dns: Array<[string, string]> = [['baseDn', options.baseDn], ['peopleDn', options.peopleDn], ['groupsDn', options.groupsDn]];
    if (options.disable.mode === 'move') dns.push(['disable.disabledDn', options.disable.disabledDn]);
    for (const [name, dn] of dns) {
      if (parseDn(dn).length === 0) throw new TypeError(`LDAP connector ${options.app}: ${name} must be a DN, not empty`);
    }
    this.entries = new EntryMapping(options.app, options);
    this.refint = { pool: this.pool, refintWaitMs: options.refintWaitMs, placeholder: (group) => this.entries.placeholder(group), log: this.log };
    const ous: Array<{ role: ManagedOu; dn: string }> = [{ role: 'people', dn: options.peopleDn }, { role: 'groups', dn: options.groupsDn }];
    if (options.disable.mode === 'move') ous.push({ role: 'disabled', dn: options.disable.disabledDn });
    this.containers = new LdapContainers(options.app, this.pool, { baseDn: options.baseDn, ous, manage: new Set(options.manageOus ?? []) });
    this.groups = new LdapGroups(options.app, this.pool, this.entries, this.containers);
  }

  // ---- accounts -------------------------------------------------------------------------------

  async getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined> {
    const entry = await this.findByEmployeeNumber(req.employeeId, call);
    return entry ? this.entries.account(entry) : undefined;
  }

  async ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    if (!req.employeeId) throw new InvalidRequestError(`${this.app}: an account needs an employee id`, this.app);
    if (!req.userName) throw new InvalidRequestError(`${this.app}: an account needs a userName`, this.app);
    const existing = await this.findByEmployeeNumber(req.employeeId, call);
    if (existing) return this.converge(existing, req, call);
    if (req.adopt) {
      const adopted = await this.tryAdopt(req, call);
      if (adopted) return adopted;
    }
    // uid is unique per parent only; a uid held anywhere under the base by someone else is a collision.
    const holders = await this.uidHolders(req.userName, call);
    if (holders.some((h) => values(h, 'employeeNumber').includes(req.employeeId))) {
      // A racing ensure for the same person created it since our first read.
      const raced = await this.findByEmployeeNumber(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
    }
    if (holders.length > 0) return this.collision(req, holders[0]!);

    const { dn, attributes } = this.entries.newUser(req);
    try {
      await this.pool.run('add', call, (c) => c.add(dn, attributes));
      return { status: 'created', account: this.entries.ref(dn, req.employeeId) };
    } catch (err) {
      if (resultCode(err) !== LdapResult.entryAlreadyExists) throw this.pool.error('add user', err);
      // 68 on add: our own earlier add whose answer was lost, or a name someone else holds.
      const raced = await this.findByEmployeeNumber(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
      const holder = (await this.pool.search(dn, undefined, ['employeeNumber'], call, 'read the entry holding the DN', 'base'))[0];
      return this.collision(req, holder ?? { dn });
    }
  }

  private collision(req: EnsureAccountRequest, holder: Entry): EnsureAccountResult {
    const key = first(holder, 'employeeNumber');
    return {
      status: 'action-required',
      message:
        `${this.app}: uid ${JSON.stringify(req.userName)} is held by ${holder.dn}` +
        `${key ? ' (another person)' : ', an entry we did not create'}; not taken over` +
        (req.adopt || key ? '' : ' (adoption needs a correlation rule)'),
      account: this.entries.ref(holder.dn, key ?? ''),
    };
  }

  private async tryAdopt(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult | undefined> {
    const by = req.adopt!.by;
    const filter = by === 'userName' ? eq('uid', req.userName) : eq('mail', req.email);
    const found = await this.searchAccounts(new AndFilter({ filters: [eq('objectClass', 'inetOrgPerson'), filter] }), USER_ATTRIBUTES, call, `find entries by ${by}`);
    const candidates = found.filter((e) => values(e, 'employeeNumber').length === 0);
    if (candidates.length === 0) return undefined;
    if (candidates.length > 1) return { status: 'action-required', message: `${this.app}: ${candidates.length} uncorrelated entries match ${by}; adopt one by hand` };
    this.log?.info({ employeeId: req.employeeId, by }, 'adopting an uncorrelated entry');
    const result = await this.converge(candidates[0]!, req, call);
    return result.status === 'updated' || result.status === 'unchanged' ? { status: 'updated', account: result.account, adopted: true } : result;
  }

  /** Modifies the entry's attributes to the request's, then renames or moves it if its uid or state says so. */
  private async converge(entry: Entry, req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    const changes = this.entries.changes(entry, req);
    const mode = this.options.disable;
    const disabled = this.entries.isDisabled(entry);
    // uid compares case-insensitively in LDAP: a case-only difference is the same name.
    const currentUid = first(entry, 'uid');
    const rename = currentUid === undefined || currentUid.toLowerCase() !== req.userName.toLowerCase();
    const move = mode.mode === 'move' && disabled === req.active;
    let dn = entry.dn;
    if (changes.length > 0) {
      try {
        await this.pool.run('modify', call, (c) => c.modify(dn, changes));
      } catch (err) {
        if (resultCode(err) === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${dn} moved while it was being updated; the next attempt re-reads it`, this.app);
        throw this.pool.error('modify user', err);
      }
    }
    if (rename || move) {
      const rdn = rename ? `uid=${escapeDnValue(req.userName)}` : firstRdn(dn);
      const parent = move ? (req.active ? this.options.peopleDn : (mode as { disabledDn: string }).disabledDn) : formatParent(dn);
      const target = `${rdn},${parent}`;
      if (rename) {
        const other = (await this.uidHolders(req.userName, call)).find((h) => normalizeDn(h.dn) !== normalizeDn(dn));
        if (other) return { ...this.collision(req, other), account: this.entries.ref(dn, req.employeeId) };
      }
      try {
        await this.pool.run('modifyDN', call, (c) => c.modifyDN(dn, target));
        await settleMemberships(this.refint, values(entry, 'memberOf'), dn, target, call);
        dn = target;
      } catch (err) {
        const code = resultCode(err);
        if (code === LdapResult.entryAlreadyExists) {
          return {
            status: 'action-required',
            message: `${this.app}: cannot move ${dn} to ${target}: an entry with that name exists there (a stale entry?); resolve by hand`,
            account: this.entries.ref(dn, req.employeeId),
          };
        }
        if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${dn} moved while it was being renamed; the next attempt re-reads it`, this.app);
        throw this.pool.error('rename user', err);
      }
    }
    const account = this.entries.ref(dn, req.employeeId);
    return changes.length > 0 || rename || move ? { status: 'updated', account } : { status: 'unchanged', account };
  }

  async updateAccount(req: UpdateAccountRequest, call: CallContext): Promise<ChangeOutcome> {
    const unknown = Object.keys(req.changes).filter((name) => !(MAPPED_ATTRIBUTES as readonly string[]).includes(name));
    if (unknown.length > 0) throw new InvalidRequestError(`${this.app}: ${unknown.join(', ')}: not an attribute this connector maps; one of: ${MAPPED_ATTRIBUTES.join(', ')}`, this.app);
    const { uid, ...rest } = req.changes;
    if (uid === null) throw new InvalidRequestError(`${this.app}: uid names the entry and cannot be cleared`, this.app);
    const entry = await this.resolve(req.account, call);
    if (!entry) throw new NotFoundError(`${this.app}: update user: no entry with employeeNumber ${JSON.stringify(req.account.externalId)}`, this.app);
    const changes = Object.entries(rest).flatMap(([name, value]) => attributeChange(entry, name, value) ?? []);
    // uid compares case-insensitively in LDAP (RFC 4519 §2.39): a case-only difference is the same name.
    const currentUid = first(entry, 'uid');
    const rename = uid !== undefined && (currentUid === undefined || currentUid.toLowerCase() !== uid.toLowerCase());
    if (changes.length === 0 && !rename) return { status: 'already-in-state' };
    if (rename && (await this.uidHolders(uid, call)).some((h) => normalizeDn(h.dn) !== normalizeDn(entry.dn))) {
      throw new InvalidRequestError(`${this.app}: cannot rename ${entry.dn} to uid ${JSON.stringify(uid)}: another entry holds it; resolve by hand`, this.app);
    }
    try {
      if (changes.length > 0) await this.pool.run('modify', call, (c) => c.modify(entry.dn, changes));
      if (rename) {
        // The RDN only: the entry stays in its OU (people, or disabled).
        const target = `uid=${escapeDnValue(uid)},${formatParent(entry.dn)}`;
        await this.pool.run('modifyDN', call, (c) => c.modifyDN(entry.dn, target));
        await settleMemberships(this.refint, values(entry, 'memberOf'), entry.dn, target, call);
        return { status: 'applied', account: this.entries.ref(target, req.account.externalId) };
      }
      return { status: 'applied', ...this.movedFrom(req.account, entry.dn) };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${entry.dn} moved while it was being updated; the next attempt re-reads it`, this.app);
      if (code === LdapResult.entryAlreadyExists) throw new InvalidRequestError(`${this.app}: cannot rename ${entry.dn}: an entry with uid ${JSON.stringify(uid)} exists in its OU; resolve by hand`, this.app);
      throw this.pool.error('update user', err);
    }
  }

  /** The entry's handle when it is not the one the caller holds (the entry moved since it was read). */
  private movedFrom(ref: AccountRef, dn: string): { account?: AccountRef } {
    return normalizeDn(ref.id) === normalizeDn(dn) ? {} : { account: this.entries.ref(dn, ref.externalId) };
  }

  async disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, false, call);
  }

  async enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, true, call);
  }

  async readAccountByRef(ref: AccountRef, call: CallContext): Promise<Account | undefined> {
    const entry = await this.resolve(ref, call);
    return entry ? this.entries.account(entry) : undefined;
  }

  private async setActive(ref: AccountRef, active: boolean, call: CallContext): Promise<ChangeOutcome> {
    const what = active ? 'enable user' : 'disable user';
    const entry = await this.resolve(ref, call);
    if (!entry) throw new NotFoundError(`${this.app}: ${what}: no entry with employeeNumber ${JSON.stringify(ref.externalId)}`, this.app);
    const mode = this.options.disable;
    if (mode.mode === 'attribute') {
      const change = new Change({ operation: active ? 'delete' : 'add', modification: new Attribute({ type: mode.attribute, values: [mode.value] }) });
      try {
        await this.pool.run('modify', call, (c) => c.modify(entry.dn, change));
        return { status: 'applied' };
      } catch (err) {
        const code = resultCode(err);
        // Per verb: adding the disabled value that is there (20), removing one that is not (16).
        if (!active && code === LdapResult.attributeOrValueExists) return { status: 'already-in-state' };
        if (active && code === LdapResult.noSuchAttribute) return { status: 'already-in-state' };
        if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${entry.dn} moved during ${what}; the next attempt re-reads it`, this.app);
        throw this.pool.error(what, err);
      }
    }
    if (this.entries.isDisabled(entry) === !active) return { status: 'already-in-state', ...this.movedFrom(ref, entry.dn) };
    const target = `${firstRdn(entry.dn)},${active ? this.options.peopleDn : mode.disabledDn}`;
    try {
      await this.pool.run('modifyDN', call, (c) => c.modifyDN(entry.dn, target));
      await settleMemberships(this.refint, values(entry, 'memberOf'), entry.dn, target, call);
      // The entry has a new DN: the caller's handle is stale from now on.
      return { status: 'applied', account: this.entries.ref(target, ref.externalId) };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.entryAlreadyExists) {
        throw new InvalidRequestError(`${this.app}: ${what}: ${target} already exists (a stale entry with the same name?); resolve by hand`, this.app);
      }
      if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${entry.dn} moved during ${what}; the next attempt re-reads it`, this.app);
      throw this.pool.error(what, err);
    }
  }

  async deleteAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) return { status: 'already-in-state' };
    try {
      await this.pool.run('delete', call, (c) => c.del(entry.dn));
      await settleMemberships(this.refint, values(entry, 'memberOf'), entry.dn, undefined, call);
      return { status: 'applied' };
    } catch (err) {
      if (resultCode(err) === LdapResult.noSuchObject) return { status: 'already-in-state' };
      throw this.pool.error('delete user', err);
    }
  }

  /**
   * Every account in the people (and disabled) OU, those without employeeNumber too (externalId
   * ''), as the SCIM connector lists users without externalId: a reconciliation must see an
   * account nobody correlates with, to report it or to adopt it by the correlation rule.
   */
  async listAccounts(req: PageRequest, call: CallContext): Promise<Page<Account>> {
    const search = { bases: this.entries.accountBases, scope: 'sub' as const, filter: eq('objectClass', 'inetOrgPerson'), attributes: this.entries.accountAttributes };
    const page = await this.listings.page(req, search, call);
    return { items: page.items.map((e) => this.entries.account(e)), ...(page.next ? { next: page.next } : {}) };
  }

  // ---- entitlements (groups) ------------------------------------------------------------------

  async listEntitlements(req: PageRequest, call: CallContext): Promise<Page<Entitlement>> {
    const search = { bases: [this.options.groupsDn], scope: 'one' as const, filter: eq('objectClass', 'groupOfNames'), attributes: ['cn', 'description'] };
    const page = await this.listings.page(req, search, call);
    return { items: page.items.map((e) => this.entries.entitlement(e)), ...(page.next ? { next: page.next } : {}) };
  }

  /** The group `cn=<name>` under groupsDn (groups.ts). */
  findEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<FindEntitlementResult> {
    return this.groups.find(req.name, call);
  }

  /** Creates the group with the placeholder member when missing; a repeat is `existing`. */
  ensureEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<EnsureEntitlementResult> {
    return this.groups.ensure(req.name, call);
  }

  /** The people, groups and disabled OUs, created only where `manageOus` says (containers.ts). */
  ensureContainers(req: { create: boolean }, call: CallContext): Promise<Container[]> {
    return this.containers.ensure(req.create, call);
  }

  async grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) throw new NotFoundError(`${this.app}: grant ${req.entitlementId}: no entry with employeeNumber ${JSON.stringify(req.account.externalId)}`, this.app);
    const group = this.entries.groupDn(req.entitlementId);
    try {
      await this.pool.run('modify', call, (c) => c.modify(group, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [entry.dn] }) })));
      return { status: 'applied' };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.attributeOrValueExists) return { status: 'already-in-state' }; // 20 on add-member
      if (code === LdapResult.noSuchObject) throw new NotFoundError(`${this.app}: group ${group} does not exist`, this.app);
      throw this.pool.error('add group member', err);
    }
  }

  async revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) return { status: 'already-in-state' }; // no entry, no membership (refint removed it)
    const group = this.entries.groupDn(req.entitlementId);
    const remove = new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [entry.dn] }) });
    try {
      await this.pool.run('modify', call, (c) => c.modify(group, remove));
      return { status: 'applied' };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.noSuchAttribute) {
        // 16 on remove-member: not a member under this DN. The memberOf the memberof overlay keeps
        // on the entry says whether it is one under a DN refint has not rewritten yet (a rename or a
        // move by someone else moments ago): then try again shortly rather than claim success.
        if (values(entry, 'memberOf').some((g) => sameDn(g, group))) {
          throw new TransientError(`${this.app}: ${entry.dn} is still listed in ${group} under a previous DN; the next attempt revokes it`, this.app);
        }
        return { status: 'already-in-state' };
      }
      if (code === LdapResult.noSuchObject) throw new NotFoundError(`${this.app}: group ${group} does not exist`, this.app);
      if (code !== LdapResult.objectClassViolation) throw this.pool.error('remove group member', err);
    }
    // 65: the member was the group's last (a group made without our placeholder). Keep it valid.
    const add = new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [this.entries.placeholder(group)] }) });
    try {
      await this.pool.run('modify', call, (c) => c.modify(group, [add, remove]));
      return { status: 'applied' };
    } catch (err) {
      if (resultCode(err) === LdapResult.noSuchAttribute) return { status: 'already-in-state' };
      throw this.pool.error('remove the last group member', err);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.listings.close()]);
  }

  // ---- reads ----------------------------------------------------------------------------------

  private async findByEmployeeNumber(employeeId: string, call: CallContext): Promise<Entry | undefined> {
    const filter = new AndFilter({ filters: [eq('objectClass', 'inetOrgPerson'), eq('employeeNumber', employeeId)] });
    const entries = await this.searchAccounts(filter, this.entries.accountAttributes, call, 'find user by employeeNumber');
    // employeeNumber matches case-insensitively and after Unicode folding (caseIgnoreMatch): keep exact matches.
    const exact = entries.filter((e) => values(e, 'employeeNumber').includes(employeeId));
    if (exact.length > 1) throw new InvalidRequestError(`${this.app}: ${exact.length} entries carry employeeNumber ${JSON.stringify(employeeId)}`, this.app);
    return exact[0];
  }

  /** Entries anywhere under the base holding `uid` (uid is unique per parent only). */
  private async uidHolders(uid: string, call: CallContext): Promise<Entry[]> {
    return this.pool.search(this.options.baseDn, eq('uid', uid), ['employeeNumber'], call, 'find entries by uid');
  }

  /** The entry `ref` names, found by its correlation key (its DN may have moved since). */
  private async resolve(ref: AccountRef, call: CallContext): Promise<Entry | undefined> {
    if (ref.externalId) return this.findByEmployeeNumber(ref.externalId, call);
    if (!ref.id) return undefined;
    try {
      return (await this.pool.search(ref.id, eq('objectClass', 'inetOrgPerson'), USER_ATTRIBUTES, call, 'read user', 'base'))[0];
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Searches the OUs accounts live in (people, and disabled when disabling moves), not the whole base. */
  private async searchAccounts(filter: Filter, attributes: string[], call: CallContext, what: string): Promise<Entry[]> {
    const found = await Promise.all(this.entries.accountBases.map((base) => this.pool.search(base, filter, attributes, call, what)));
    return found.flat();
  }
}
