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
import { randomUUID } from 'node:crypto';
import { AndFilter, Attribute, Change, Client, EqualityFilter, PresenceFilter, type Entry, type Filter } from 'ldapts';
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
  EnsureAccountResult,
  EntitlementCapable,
  Entitlement,
  GrantRequest,
  ListAccountsCapable,
  Page,
  PageRequest,
  RevokeRequest,
} from '../contract.js';
import { redactSecrets } from '../credentials.js';
import { AuthError, InvalidRequestError, NotFoundError, TransientError } from '../errors.js';
import { escapeDnValue, firstRdn, isChildOf, normalizeDn, parseDn } from './escape.js';
import { LdapResult, ldapError, resultCode } from './result-codes.js';

export type LdapDisableMode =
  /** Move the entry to `disabledDn` (and back to the people OU on enable); refint keeps member DNs right. */
  | { mode: 'move'; disabledDn: string }
  /** Add `value` to `attribute` (e.g. employeeType: disabled); enable removes that value. */
  | { mode: 'attribute'; attribute: string; value: string };

export type LdapConnectorOptions = {
  app: string;
  url: string;
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

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];
const USER_ATTRIBUTES = ['uid', 'cn', 'sn', 'givenName', 'mail', 'displayName', 'employeeNumber', 'memberOf'];

/** The values of an attribute of a search entry, whatever the case of its name. */
function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const v = entry[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

const first = (entry: Entry, name: string) => values(entry, name)[0];

function eq(attribute: string, value: string): Filter {
  return new EqualityFilter({ attribute, value });
}

function desiredAttributes(req: EnsureAccountRequest): Record<string, string> {
  const cn = `${req.givenName} ${req.familyName}`.trim() || req.userName;
  return {
    cn,
    sn: req.familyName || req.userName,
    displayName: cn,
    ...(req.givenName ? { givenName: req.givenName } : {}),
    ...(req.email ? { mail: req.email } : {}),
  };
}

/** Races an ldapts call with the call's abort signal (the server may still finish it). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

type Listing = {
  client: Client;
  /** The paged search of the current base. */
  pages: AsyncGenerator<{ searchEntries: Entry[] }>;
  /** Bases still to list after the current one. */
  rest: string[];
  start: (base: string) => AsyncGenerator<{ searchEntries: Entry[] }>;
  /** The page fetched ahead, so a page knows whether another follows. */
  ahead: Entry[] | undefined;
  done: boolean;
  lastUsed: number;
};

export class LdapConnector implements Connector, DisableCapable, DeleteCapable, ListAccountsCapable, EntitlementCapable {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['accounts', 'disable', 'delete', 'list-accounts', 'entitlements']);
  private readonly clients: Array<Client | undefined>;
  private readonly binding = new Map<Client, Promise<void>>();
  private turn = 0;
  private readonly listings = new Map<string, Listing>();
  private readonly log: Logger | undefined;
  private closed = false;
  /** Where accounts are: the people OU and, when disabling moves entries, the disabled OU (nested ones once). */
  private readonly accountBases: string[];

  constructor(private readonly options: LdapConnectorOptions) {
    this.app = options.app;
    this.clients = new Array<Client | undefined>(Math.max(1, options.connections ?? 2)).fill(undefined);
    this.log = options.logger?.child({ app: options.app, connector: 'ldap' });
    const dns: Array<[string, string]> = [['baseDn', options.baseDn], ['peopleDn', options.peopleDn], ['groupsDn', options.groupsDn]];
    if (options.disable.mode === 'move') dns.push(['disable.disabledDn', options.disable.disabledDn]);
    for (const [name, dn] of dns) {
      if (parseDn(dn).length === 0) throw new TypeError(`LDAP connector ${options.app}: ${name} must be a DN, not empty`);
    }
    const bases = [options.peopleDn, ...(options.disable.mode === 'move' ? [options.disable.disabledDn] : [])];
    const within = (dn: string, base: string) => normalizeDn(dn) === normalizeDn(base) || normalizeDn(dn).endsWith(`,${normalizeDn(base)}`);
    this.accountBases = bases.filter((b, i) => !bases.some((other, j) => j !== i && within(b, other) && (normalizeDn(b) !== normalizeDn(other) || j < i)));
  }

  // ---- accounts -------------------------------------------------------------------------------

  async getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined> {
    const entry = await this.findByEmployeeNumber(req.employeeId, call);
    return entry ? this.account(entry) : undefined;
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
    const holders = await this.search(this.options.baseDn, eq('uid', req.userName), ['employeeNumber'], call, 'find entries by uid');
    if (holders.some((h) => values(h, 'employeeNumber').includes(req.employeeId))) {
      // A racing ensure for the same person created it since our first read.
      const raced = await this.findByEmployeeNumber(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
    }
    if (holders.length > 0) return this.collision(req, holders[0]!);

    const disabledByMove = !req.active && this.options.disable.mode === 'move';
    const parent = disabledByMove ? (this.options.disable as { disabledDn: string }).disabledDn : this.options.peopleDn;
    const dn = `uid=${escapeDnValue(req.userName)},${parent}`;
    const attributes: Record<string, string | string[]> = {
      objectClass: USER_CLASSES,
      uid: req.userName,
      employeeNumber: req.employeeId,
      ...desiredAttributes(req),
    };
    if (!req.active && this.options.disable.mode === 'attribute') attributes[this.options.disable.attribute] = this.options.disable.value;
    try {
      await this.run('add', call, (c) => c.add(dn, attributes));
      return { status: 'created', account: { app: this.app, id: dn, externalId: req.employeeId } };
    } catch (err) {
      if (resultCode(err) !== LdapResult.entryAlreadyExists) throw this.error('add user', err);
      // 68 on add: our own earlier add whose answer was lost, or a name someone else holds.
      const raced = await this.findByEmployeeNumber(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
      const holder = (await this.search(dn, undefined, ['employeeNumber'], call, 'read the entry holding the DN', 'base'))[0];
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
      ...(key !== undefined ? { account: { app: this.app, id: holder.dn, externalId: key } } : { account: { app: this.app, id: holder.dn, externalId: '' } }),
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

  private isDisabled(entry: Entry): boolean {
    const mode = this.options.disable;
    if (mode.mode === 'move') return isChildOf(entry.dn, mode.disabledDn);
    return values(entry, mode.attribute).some((v) => v.toLowerCase() === mode.value.toLowerCase());
  }

  private async converge(entry: Entry, req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    const changes: Change[] = [];
    if (!values(entry, 'employeeNumber').includes(req.employeeId)) {
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'employeeNumber', values: [req.employeeId] }) }));
    }
    const desired = desiredAttributes(req);
    for (const name of ['cn', 'sn', 'displayName', 'givenName', 'mail'] as const) {
      const want = desired[name];
      const have = values(entry, name);
      if (want === undefined) {
        if (have.length > 0) changes.push(new Change({ operation: 'delete', modification: new Attribute({ type: name, values: [] }) }));
      } else if (have.length !== 1 || have[0] !== want) {
        changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: name, values: [want] }) }));
      }
    }
    const mode = this.options.disable;
    const disabled = this.isDisabled(entry);
    if (mode.mode === 'attribute' && disabled === req.active) {
      changes.push(new Change({ operation: req.active ? 'delete' : 'add', modification: new Attribute({ type: mode.attribute, values: [mode.value] }) }));
    }
    // uid compares case-insensitively in LDAP: a case-only difference is the same name.
    const currentUid = first(entry, 'uid');
    const rename = currentUid === undefined || currentUid.toLowerCase() !== req.userName.toLowerCase();
    const move = mode.mode === 'move' && disabled === req.active;
    let dn = entry.dn;
    if (changes.length > 0) {
      try {
        await this.run('modify', call, (c) => c.modify(dn, changes));
      } catch (err) {
        if (resultCode(err) === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${dn} moved while it was being updated; the next attempt re-reads it`, this.app);
        throw this.error('modify user', err);
      }
    }
    if (rename || move) {
      const rdn = rename ? `uid=${escapeDnValue(req.userName)}` : firstRdn(dn);
      const parent = move ? (req.active ? this.options.peopleDn : (mode as { disabledDn: string }).disabledDn) : formatParent(dn);
      const target = `${rdn},${parent}`;
      if (rename) {
        const holders = await this.search(this.options.baseDn, eq('uid', req.userName), ['employeeNumber'], call, 'find entries by uid');
        const other = holders.find((h) => normalizeDn(h.dn) !== normalizeDn(dn));
        if (other) return { ...this.collision(req, other), account: { app: this.app, id: dn, externalId: req.employeeId } };
      }
      try {
        await this.run('modifyDN', call, (c) => c.modifyDN(dn, target));
        await this.settleMemberships(values(entry, 'memberOf'), dn, target, call);
        dn = target;
      } catch (err) {
        const code = resultCode(err);
        if (code === LdapResult.entryAlreadyExists) {
          return {
            status: 'action-required',
            message: `${this.app}: cannot move ${dn} to ${target}: an entry with that name exists there (a stale entry?); resolve by hand`,
            account: { app: this.app, id: dn, externalId: req.employeeId },
          };
        }
        if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${dn} moved while it was being renamed; the next attempt re-reads it`, this.app);
        throw this.error('rename user', err);
      }
    }
    const account = { app: this.app, id: dn, externalId: req.employeeId };
    return changes.length > 0 || rename || move ? { status: 'updated', account } : { status: 'unchanged', account };
  }

  async disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, false, call);
  }

  async enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, true, call);
  }

  private async setActive(ref: AccountRef, active: boolean, call: CallContext): Promise<ChangeOutcome> {
    const what = active ? 'enable user' : 'disable user';
    const entry = await this.resolve(ref, call);
    if (!entry) throw new NotFoundError(`${this.app}: ${what}: no entry with employeeNumber ${JSON.stringify(ref.externalId)}`, this.app);
    const mode = this.options.disable;
    if (mode.mode === 'attribute') {
      const change = new Change({ operation: active ? 'delete' : 'add', modification: new Attribute({ type: mode.attribute, values: [mode.value] }) });
      try {
        await this.run('modify', call, (c) => c.modify(entry.dn, change));
        return { status: 'applied' };
      } catch (err) {
        const code = resultCode(err);
        // Per verb: adding the disabled value that is there (20), removing one that is not (16).
        if (!active && code === LdapResult.attributeOrValueExists) return { status: 'already-in-state' };
        if (active && code === LdapResult.noSuchAttribute) return { status: 'already-in-state' };
        if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${entry.dn} moved during ${what}; the next attempt re-reads it`, this.app);
        throw this.error(what, err);
      }
    }
    if (this.isDisabled(entry) === !active) return { status: 'already-in-state' };
    const target = `${firstRdn(entry.dn)},${active ? this.options.peopleDn : mode.disabledDn}`;
    try {
      await this.run('modifyDN', call, (c) => c.modifyDN(entry.dn, target));
      await this.settleMemberships(values(entry, 'memberOf'), entry.dn, target, call);
      return { status: 'applied' };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.entryAlreadyExists) {
        throw new InvalidRequestError(`${this.app}: ${what}: ${target} already exists (a stale entry with the same name?); resolve by hand`, this.app);
      }
      if (code === LdapResult.noSuchObject) throw new TransientError(`${this.app}: ${entry.dn} moved during ${what}; the next attempt re-reads it`, this.app);
      throw this.error(what, err);
    }
  }

  async deleteAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) return { status: 'already-in-state' };
    try {
      await this.run('delete', call, (c) => c.del(entry.dn));
      await this.settleMemberships(values(entry, 'memberOf'), entry.dn, undefined, call);
      return { status: 'applied' };
    } catch (err) {
      if (resultCode(err) === LdapResult.noSuchObject) return { status: 'already-in-state' };
      throw this.error('delete user', err);
    }
  }

  async listAccounts(req: PageRequest, call: CallContext): Promise<Page<Account>> {
    const filter = new AndFilter({ filters: [eq('objectClass', 'inetOrgPerson'), new PresenceFilter({ attribute: 'employeeNumber' })] });
    const attributes = [...USER_ATTRIBUTES, ...(this.options.disable.mode === 'attribute' ? [this.options.disable.attribute] : [])];
    const page = await this.listPage(req, this.accountBases, 'sub', filter, attributes, call);
    return { items: page.items.map((e) => this.account(e)), ...(page.next ? { next: page.next } : {}) };
  }

  // ---- entitlements (groups) ------------------------------------------------------------------

  async listEntitlements(req: PageRequest, call: CallContext): Promise<Page<Entitlement>> {
    const page = await this.listPage(req, [this.options.groupsDn], 'one', eq('objectClass', 'groupOfNames'), ['cn', 'description'], call);
    return {
      items: page.items.map((e) => {
        const id = this.entitlementId(e.dn) ?? first(e, 'cn') ?? e.dn;
        return { app: this.app, id, displayName: first(e, 'description') ?? id };
      }),
      ...(page.next ? { next: page.next } : {}),
    };
  }

  /** Creates the group `cn=<id>` with the placeholder member; a repeat is `unchanged`. Not part of the contract. */
  async ensureGroup(req: { id: string; description?: string }, call: CallContext): Promise<{ status: 'created' | 'unchanged'; dn: string }> {
    const dn = this.groupDn(req.id);
    try {
      await this.run('add', call, (c) =>
        c.add(dn, { objectClass: ['top', 'groupOfNames'], cn: req.id, member: this.placeholder(dn), ...(req.description ? { description: req.description } : {}) }),
      );
      return { status: 'created', dn };
    } catch (err) {
      if (resultCode(err) === LdapResult.entryAlreadyExists) return { status: 'unchanged', dn };
      throw this.error('add group', err);
    }
  }

  async grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) throw new NotFoundError(`${this.app}: grant ${req.entitlementId}: no entry with employeeNumber ${JSON.stringify(req.account.externalId)}`, this.app);
    const group = this.groupDn(req.entitlementId);
    try {
      await this.run('modify', call, (c) => c.modify(group, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [entry.dn] }) })));
      return { status: 'applied' };
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.attributeOrValueExists) return { status: 'already-in-state' }; // 20 on add-member
      if (code === LdapResult.noSuchObject) throw new NotFoundError(`${this.app}: group ${group} does not exist`, this.app);
      throw this.error('add group member', err);
    }
  }

  async revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome> {
    const entry = await this.resolve(req.account, call);
    if (!entry) return { status: 'already-in-state' }; // no entry, no membership (refint removed it)
    const group = this.groupDn(req.entitlementId);
    const remove = new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [entry.dn] }) });
    try {
      await this.run('modify', call, (c) => c.modify(group, remove));
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
      if (code !== LdapResult.objectClassViolation) throw this.error('remove group member', err);
    }
    // 65: the member was the group's last (a group made without our placeholder). Keep it valid.
    const add = new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [this.placeholder(group)] }) });
    try {
      await this.run('modify', call, (c) => c.modify(group, [add, remove]));
      return { status: 'applied' };
    } catch (err) {
      if (resultCode(err) === LdapResult.noSuchAttribute) return { status: 'already-in-state' };
      throw this.error('remove the last group member', err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.clients.filter((c): c is Client => !!c), ...[...this.listings.values()].map((l) => l.client)];
    this.clients.fill(undefined);
    this.listings.clear();
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }

  /**
   * After a rename, move or delete, waits until the refint overlay has rewritten (or removed) the
   * entry's DN in the groups it belongs to. slapd's refint does that in a background thread after
   * the operation has answered, so without this a revoke right after a disable would find no value
   * under the new DN (16) and report already-in-state while refint then puts it back. If refint
   * does not catch up within `refintWaitMs` (it is not configured, say), the connector makes the
   * same change itself.
   */
  private async settleMemberships(groups: string[], oldDn: string, newDn: string | undefined, call: CallContext): Promise<void> {
    if (groups.length === 0) return;
    const deadline = Date.now() + (this.options.refintWaitMs ?? 3_000);
    let pending = groups;
    for (;;) {
      const still: string[] = [];
      for (const group of pending) {
        const settled = await this.compareMember(group, oldDn, call).then(async (hasOld) => !hasOld && (newDn === undefined || (await this.compareMember(group, newDn, call))));
        if (!settled) still.push(group);
      }
      pending = still;
      if (pending.length === 0) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    this.log?.warn({ groups: pending.length }, 'refint did not rewrite member DNs in time; rewriting them');
    for (const group of pending) {
      const changes = [
        ...(newDn ? [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [newDn] }) })] : []),
        new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [oldDn] }) }),
      ];
      for (const change of changes) {
        try {
          await this.run('modify', call, (c) => c.modify(group, change));
        } catch (err) {
          const code = resultCode(err);
          if (code === LdapResult.attributeOrValueExists || code === LdapResult.noSuchAttribute || code === LdapResult.noSuchObject) continue;
          if (code === LdapResult.objectClassViolation) {
            await this.run('modify', call, (c) => c.modify(group, [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [this.placeholder(group)] }) }), change]));
            continue;
          }
          throw this.error('rewrite a member DN', err);
        }
      }
    }
  }

  /** Does `group` list `dn` as a member? The server compares (distinguishedNameMatch); a missing group lists no one. */
  private async compareMember(group: string, dn: string, call: CallContext): Promise<boolean> {
    try {
      return await this.run('compare', call, (c) => c.compare(group, 'member', dn));
    } catch (err) {
      if (resultCode(err) === LdapResult.noSuchObject) return false;
      throw this.error('compare a member', err);
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  private async findByEmployeeNumber(employeeId: string, call: CallContext): Promise<Entry | undefined> {
    const attributes = [...USER_ATTRIBUTES, ...(this.options.disable.mode === 'attribute' ? [this.options.disable.attribute] : [])];
    const filter = new AndFilter({ filters: [eq('objectClass', 'inetOrgPerson'), eq('employeeNumber', employeeId)] });
    const entries = await this.searchAccounts(filter, attributes, call, 'find user by employeeNumber');
    // employeeNumber matches case-insensitively and after Unicode folding (caseIgnoreMatch): keep exact matches.
    const exact = entries.filter((e) => values(e, 'employeeNumber').includes(employeeId));
    if (exact.length > 1) throw new InvalidRequestError(`${this.app}: ${exact.length} entries carry employeeNumber ${JSON.stringify(employeeId)}`, this.app);
    return exact[0];
  }

  /** The entry `ref` names, found by its correlation key (its DN may have moved since). */
  private async resolve(ref: AccountRef, call: CallContext): Promise<Entry | undefined> {
    if (ref.externalId) return this.findByEmployeeNumber(ref.externalId, call);
    if (!ref.id) return undefined;
    try {
      return (await this.search(ref.id, eq('objectClass', 'inetOrgPerson'), USER_ATTRIBUTES, call, 'read user', 'base'))[0];
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Searches the OUs accounts live in (people, and disabled when disabling moves), not the whole base. */
  private async searchAccounts(filter: Filter, attributes: string[], call: CallContext, what: string): Promise<Entry[]> {
    const found = await Promise.all(this.accountBases.map((base) => this.search(base, filter, attributes, call, what)));
    return found.flat();
  }

  private async search(base: string, filter: Filter | undefined, attributes: string[], call: CallContext, what: string, scope: 'base' | 'one' | 'sub' = 'sub'): Promise<Entry[]> {
    try {
      const result = await this.run('search', call, (c) => c.search(base, { scope, ...(filter ? { filter } : {}), attributes }));
      return result.searchEntries;
    } catch (err) {
      throw this.error(what, err);
    }
  }

  private account(entry: Entry): Account {
    const email = first(entry, 'mail');
    const givenName = first(entry, 'givenName');
    const familyName = first(entry, 'sn');
    const entitlements = values(entry, 'memberOf')
      .map((dn) => this.entitlementId(dn))
      .filter((id): id is string => id !== undefined);
    return {
      app: this.app,
      id: entry.dn,
      externalId: first(entry, 'employeeNumber') ?? '',
      userName: first(entry, 'uid') ?? '',
      active: !this.isDisabled(entry),
      ...(email !== undefined ? { email } : {}),
      ...(givenName !== undefined ? { givenName } : {}),
      ...(familyName !== undefined ? { familyName } : {}),
      entitlements,
    };
  }

  private groupDn(id: string): string {
    if (!id) throw new InvalidRequestError(`${this.app}: an entitlement id cannot be empty`, this.app);
    return `cn=${escapeDnValue(id)},${this.options.groupsDn}`;
  }

  /** The cn of a group directly under groupsDn, or undefined for any other DN. */
  private entitlementId(dn: string): string | undefined {
    try {
      const [rdn] = parseDn(dn);
      if (!rdn || rdn.length !== 1 || rdn[0]!.type.toLowerCase() !== 'cn' || !isChildOf(dn, this.options.groupsDn)) return undefined;
      return rdn[0]!.value;
    } catch {
      return undefined;
    }
  }

  private placeholder(groupDn: string): string {
    return this.options.placeholderMemberDn ?? groupDn;
  }

  // ---- listings -------------------------------------------------------------------------------

  /**
   * One page of a paged search (RFC 2696). The paged-results cookie belongs to the connection that
   * started the search, so each listing has its own connection and its cursor is valid on this
   * worker only, until `listingIdleMs` passes: a listing runs inside one (heartbeating) activity
   * and a retried activity starts it again without a cursor.
   */
  private async listPage(req: PageRequest, bases: string[], scope: 'one' | 'sub', filter: Filter, attributes: string[], call: CallContext): Promise<{ items: Entry[]; next?: string }> {
    this.sweepListings();
    let id = req.cursor;
    let listing: Listing | undefined;
    if (id === undefined) {
      id = randomUUID();
      const client = this.newClient();
      try {
        await abortable(this.bind(client), call.signal);
      } catch (err) {
        await client.unbind().catch(() => undefined);
        throw err;
      }
      const pageSize = req.pageSize ?? this.options.pageSize ?? 200;
      const start = (base: string) => client.searchPaginated(base, { scope, filter, attributes, paged: { pageSize } });
      listing = { client, pages: start(bases[0]!), rest: bases.slice(1), start, ahead: undefined, done: false, lastUsed: Date.now() };
      this.listings.set(id, listing);
      listing.ahead = await this.pull(listing, call);
    } else {
      listing = this.listings.get(id);
      if (!listing) {
        throw new InvalidRequestError(`${this.app}: listing cursor unknown or expired on this worker; LDAP listings are read within one activity: start again without a cursor`, this.app);
      }
    }
    listing.lastUsed = Date.now();
    const items = listing.ahead ?? [];
    listing.ahead = listing.done ? undefined : await this.pull(listing, call);
    if (listing.ahead === undefined || (listing.done && listing.ahead.length === 0)) {
      this.listings.delete(id);
      await listing.client.unbind().catch(() => undefined);
      return { items };
    }
    return { items, next: id };
  }

  private async pull(listing: Listing, call: CallContext): Promise<Entry[] | undefined> {
    try {
      for (;;) {
        const next = await abortable(listing.pages.next(), call.signal);
        if (!next.done && next.value.searchEntries.length > 0) return next.value.searchEntries;
        if (!next.done) continue; // an empty page: read on
        const base = listing.rest.shift();
        if (base === undefined) {
          listing.done = true;
          return undefined;
        }
        listing.pages = listing.start(base);
      }
    } catch (err) {
      // A listing that breaks off must not look complete.
      for (const [key, l] of this.listings) if (l === listing) this.listings.delete(key);
      await listing.client.unbind().catch(() => undefined);
      throw this.error('paged search', err);
    }
  }

  private sweepListings(): void {
    const idle = this.options.listingIdleMs ?? 5 * 60_000;
    for (const [id, listing] of this.listings) {
      if (Date.now() - listing.lastUsed > idle) {
        this.listings.delete(id);
        void listing.client.unbind().catch(() => undefined);
      }
    }
  }

  // ---- connections ----------------------------------------------------------------------------

  private newClient(): Client {
    return new Client({
      url: this.options.url,
      timeout: this.options.timeoutMs ?? 10_000,
      connectTimeout: this.options.connectTimeoutMs ?? 5_000,
      // After a dropped connection ldapts reconnects and replays the bind before the next operation.
      autoRebind: true,
    });
  }

  private async bind(client: Client): Promise<void> {
    try {
      await client.bind(this.options.bindDn, this.options.bindPassword());
    } catch (err) {
      const code = resultCode(err);
      if (code === LdapResult.invalidCredentials) throw new AuthError(`${this.app}: bind as ${this.options.bindDn} refused: invalid credentials (LDAP 49)`, this.app);
      throw this.error(`bind as ${this.options.bindDn}`, err);
    }
  }

  /** A bound client from the pool, connections opened and bound once however many calls wait. */
  private async client(): Promise<Client> {
    if (this.closed) throw new TypeError(`LDAP connector ${this.app} is closed`);
    const slot = this.turn++ % this.clients.length;
    let client = this.clients[slot];
    if (!client) this.clients[slot] = client = this.newClient();
    if (client.isBound) return client;
    let pending = this.binding.get(client);
    if (!pending) {
      pending = this.bind(client).finally(() => this.binding.delete(client!));
      this.binding.set(client, pending);
    }
    try {
      await pending;
    } catch (err) {
      // A refused bind may be a rotated password: the next call starts a fresh connection.
      if (this.clients[slot] === client) this.clients[slot] = undefined;
      void client.unbind().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private async run<T>(op: string, call: CallContext, fn: (client: Client) => Promise<T>): Promise<T> {
    const started = performance.now();
    const client = await abortable(this.client(), call.signal);
    try {
      const result = await abortable(fn(client), call.signal);
      this.log?.debug({ op, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'LDAP operation');
      return result;
    } catch (err) {
      const code = resultCode(err);
      this.log?.debug({ op, code: code ?? 'network', ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'LDAP operation failed');
      // The stored bind may be stale (rotated password): start over on the next call.
      if (code === LdapResult.invalidCredentials) {
        const slot = this.clients.indexOf(client);
        if (slot >= 0) this.clients[slot] = undefined;
        void client.unbind().catch(() => undefined);
      }
      throw err;
    }
  }

  private error(what: string, err: unknown) {
    return ldapError(this.app, what, err, (s) => this.redact(s));
  }

  private redact(text: string): string {
    let secret: string | undefined;
    try {
      secret = this.options.bindPassword();
    } catch {
      secret = undefined;
    }
    return redactSecrets(text, [secret]);
  }
}

function sameDn(a: string, b: string): boolean {
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch {
    return false;
  }
}

/** The parent DN of `dn` as the server wrote it (everything after the first unescaped comma). */
function formatParent(dn: string): string {
  for (let i = 0; i < dn.length; i += 1) {
    if (dn[i] === '\\') i += 1;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  throw new RangeError(`${dn} has no parent`);
}
