// SCIM 2.0 (RFC 7643/7644): users correlated by externalId = employee id, group membership by
// PATCH, complete pagination, ETags, bearer token or OAuth2 client credentials, timeouts.
//
// Outcomes come from a read or from the RFC's own answers, per verb:
//   ensure   read by externalId → create (201) | replace with If-Match (200) | nothing (unchanged);
//            409 uniqueness on create → read by externalId again: found → converge (our own earlier
//            create whose answer was lost); else the userName is held by an account we did not
//            create → action-required (adopted only under an explicit `adopt` rule, and never an
//            account that carries another externalId).
//   grant    the memberships reader (memberships.ts) says member → already-in-state; else PATCH
//            add. When memberships cannot be read, the add is sent anyway (RFC 7644 §3.5.2.1: adding
//            a member already present changes nothing) and reported applied.
//   revoke   PATCH remove `members[value eq "<id>"]`: 2xx → applied; 400 noTarget (RFC 7644 §3.12:
//            the filter matched no member) → already-in-state. No read needed: the answer decides.
//   update   read the user: every value there → already-in-state; else one PATCH of exactly the
//            differing attributes (RFC 7644 §3.5.2), or a PUT of the whole user (§3.5.1) where the
//            server does not support PATCH (discovery.ts); If-Match where it has versions. 409 on a
//            new userName: held by another account (InvalidRequestError, never retried).
//   disable / enable   the user's `active` says so → already-in-state; else PATCH replace active.
//   delete   404 → already-in-state.
// Whatever a verb does not handle goes through the one status table (../http-status.ts). The
// connector never retries by itself (except once on 401 with a fresh token): Temporal does.
//
// The transport lives beside this file: send, auth and error mapping (http.ts), ListResponse paging
// (paging.ts), the resources' schemas and bodies (resources.ts), filters (filter.ts), what the
// server does (discovery.ts: endpoints, page size, which attributes it returns) and what a user
// holds (memberships.ts).
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
import { applyToBody, patchOperations, pendingChanges } from './attributes.js';
import { InvalidRequestError, NotFoundError, TransientError } from '../errors.js';
import { equalityLookup, isFilterSafe, memberValuePath } from './filter.js';
import { Discovery, type ServerFacts } from './discovery.js';
import { ScimGroups } from './groups.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './bounded-body.js';
import { ScimHttp, type ScimAuthOptions } from './http.js';
import { MembershipReader } from './memberships.js';
import { contractPage, listAll, listPage, startIndexOf, type Listing } from './paging.js';
import type { TlsOptions } from './tls.js';
import { account, accountRef, desiredUser, differs, ifMatch, patchOp, replacement, scimGroupSchema, scimUserSchema, withoutServerAttributes, type ScimUser } from './resources.js';

export { scimString } from './filter.js';
export type { ScimAuthOptions } from './http.js';

export type ScimConnectorOptions = {
  app: string;
  /** The SCIM base URL (RFC 7644 §3.1): resources at `${baseUrl}/Users`. */
  baseUrl: string;
  /** Shorthand for `auth: { kind: 'bearer', token }`. */
  bearerToken?: () => string;
  auth?: ScimAuthOptions;
  /** Per HTTP request, token requests included. Default 10 s. */
  timeoutMs?: number;
  /** Resources per list request. Default 100. */
  pageSize?: number;
  /** The CA bundle the app's certificate is verified against (./tls.ts); the system's CAs when absent. */
  tls?: TlsOptions;
  /** The largest answer read, SCIM or OAuth token (./bounded-body.ts). Default 8 MiB. */
  maxResponseBytes?: number;
  /** The longest Retry-After honoured (a longer one is cut to this); unset: all of it. */
  maxRetryAfterMs?: number;
  /** Requests are logged at debug: method, path (no query), status, duration. Never headers. */
  logger?: Logger;
  /** How long what the server declared and showed (discovery.ts) is kept. Default 15 minutes. */
  discoveryTtlMs?: number;
};

const sameText = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

export class ScimConnector implements Connector, UpdateCapable, DisableCapable, DeleteCapable, ListAccountsCapable, EntitlementCapable, EntitlementSyncCapable {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['accounts', 'update', 'disable', 'delete', 'list-accounts', 'entitlements', 'entitlement-sync']);
  private readonly pageSize: number;
  private readonly http: ScimHttp;
  private readonly log: Logger | undefined;
  private readonly groups: ScimGroups;
  private readonly discovery: Discovery;
  private readonly memberships: MembershipReader;

  constructor(options: ScimConnectorOptions) {
    this.app = options.app;
    this.pageSize = options.pageSize ?? 100;
    const auth: ScimAuthOptions | undefined = options.auth ?? (options.bearerToken ? { kind: 'bearer', token: options.bearerToken } : undefined);
    if (!auth) throw new TypeError(`SCIM connector ${options.app}: give auth (bearer or oauth2) or bearerToken`);
    this.log = options.logger?.child({ app: options.app, connector: 'scim' });
    const baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = new ScimHttp({ app: options.app, baseUrl, auth, timeoutMs: options.timeoutMs ?? 10_000, tls: options.tls, maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, maxRetryAfterMs: options.maxRetryAfterMs, log: this.log });
        this.discovery = new Discovery(this.http, baseUrl, { log: this.log, ...(options.discoveryTtlMs !== undefined ? { ttlMs: options.discoveryTtlMs } : {}) });
    this.memberships = new MembershipReader({ http: this.http, discovery: this.discovery, pageSize: this.pageSize });
    this.groups = new ScimGroups(this.http, this.pageSize, (what, call) => this.listing('Group', what, call));
  }

  /** Closes the connections of the app's own TLS Agent (a connector with tls). */
  close(): Promise<void> {
    return this.http.close();
  }

  /** The path of a User or Group endpoint (RFC 7643 §6, as discovered), or of one resource in it. */
  private async path(type: keyof ServerFacts['endpoints'], call: CallContext, id?: string): Promise<string> {
    const { endpoints } = await this.discovery.facts(call);
    return id === undefined ? endpoints[type] : `${endpoints[type]}/${encodeURIComponent(id)}`;
  }

  /** A listing of the User or Group endpoint within the server's page size. */
  private async listing(type: keyof ServerFacts['endpoints'], what: string, call: CallContext): Promise<Listing> {
    const facts = await this.discovery.facts(call);
    return { http: this.http, endpoint: facts.endpoints[type], maxResults: facts.filter.maxResults, what, onMissingEndpoint: () => this.discovery.invalidate() };
  }

  // ---- accounts -------------------------------------------------------------------------------

  async getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined> {
    const user = await this.findByExternalId(req.employeeId, call);
    return user ? account(this.app, user, await this.memberships.of(user, call)) : undefined;
  }

  async ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    const existing = await this.findByExternalId(req.employeeId, call);
    if (existing) return this.converge(existing, req, call);
    if (req.adopt) {
      const adopted = await this.tryAdopt(req, call);
      if (adopted) return adopted;
    }
    const res = await this.http.send('POST', await this.path('User', call), call, { body: desiredUser(this.app, req), what: 'create user' });
    if (res.status === 201 || res.status === 200) return { status: 'created', account: accountRef(this.app, this.http.parse(res, scimUserSchema, 'User')) };
    if (res.status === 409) {
      // RFC 7644 §3.3: 409 uniqueness. Either our own earlier create (a retry after a lost answer)
      // or a userName held by an account we did not create: read by the correlation key to tell.
      const raced = await this.findByExternalId(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
      if (req.adopt) {
        const adopted = await this.tryAdopt(req, call);
        if (adopted) return adopted;
      }
      return this.collision(req, this.http.errorDetail(res) ?? 'uniqueness', call);
    }
    throw this.http.fail(res, 'create user');
  }

  private async converge(current: ScimUser, req: EnsureAccountRequest, call: CallContext, adopted = false): Promise<EnsureAccountResult> {
    if (!differs(current, req)) return { status: 'unchanged', account: accountRef(this.app, current) };
    const res = await this.http.send('PUT', await this.path('User', call, current.id), call, { body: replacement(this.app, current, req), headers: ifMatch(current), what: 'replace user' });
    if (res.status === 200) {
      const ref = accountRef(this.app, this.http.parse(res, scimUserSchema, 'User'));
      return adopted ? { status: 'updated', account: ref, adopted: true } : { status: 'updated', account: ref };
    }
    if (res.status === 409) {
      return {
        status: 'action-required',
        message: `${this.app}: cannot rename account ${current.id} to userName ${JSON.stringify(req.userName)}: held by another account (${this.http.errorDetail(res) ?? 'uniqueness'}); not taken over`,
        account: accountRef(this.app, current),
      };
    }
    if (res.status === 412) throw new TransientError(`${this.app}: user ${current.id} changed while it was being replaced (412); the next attempt re-reads it`, this.app);
    if (res.status === 404) throw new TransientError(`${this.app}: user ${current.id} disappeared while it was being replaced; the next attempt starts over`, this.app);
    throw this.http.fail(res, 'replace user');
  }

  /** Accounts that hold the request's userName (or e-mail), compared as the app compares them. */
  private async holders(req: EnsureAccountRequest, by: 'userName' | 'email', call: CallContext): Promise<ScimUser[]> {
    return by === 'userName'
      ? this.findUsers('userName', req.userName, (u) => sameText(u.userName, req.userName), call)
      : this.findUsers('emails.value', req.email, (u) => (u.emails ?? []).some((e) => sameText(e.value, req.email)), call);
  }

  /** Takes over the one account matching the adoption rule, if it carries no correlation key. */
  private async tryAdopt(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult | undefined> {
    const candidates = (await this.holders(req, req.adopt!.by, call)).filter((u) => !u.externalId);
    if (candidates.length === 0) return undefined;
    if (candidates.length > 1) {
      return { status: 'action-required', message: `${this.app}: ${candidates.length} uncorrelated accounts match ${req.adopt!.by}; adopt one by hand` };
    }
    this.log?.info({ accountId: candidates[0]!.id, employeeId: req.employeeId, by: req.adopt!.by }, 'adopting an uncorrelated account');
    return this.converge(candidates[0]!, req, call, true);
  }

  private async collision(req: EnsureAccountRequest, detail: string, call: CallContext): Promise<EnsureAccountResult> {
    const holder = (await this.holders(req, 'userName', call))[0];
    return {
      status: 'action-required',
      message:
        `${this.app}: userName ${JSON.stringify(req.userName)} is held by ${holder ? `account ${holder.id}` : 'another account'}` +
        `${holder?.externalId ? ' of another person' : ' that we did not create'} (${detail}); not taken over` +
        (req.adopt || holder?.externalId ? '' : ' (adoption needs a correlation rule)'),
      ...(holder ? { account: accountRef(this.app, holder) } : {}),
    };
  }

  async updateAccount(req: UpdateAccountRequest, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) throw new NotFoundError(`${this.app}: update user: no account ${req.account.id} / externalId ${JSON.stringify(req.account.externalId)}`, this.app);
    const pending = pendingChanges(this.app, user, req.changes);
    if (pending.length === 0) return { status: 'already-in-state' };
    const { patch } = await this.discovery.facts(call);
    const path = await this.path('User', call, user.id);
    const headers = ifMatch(user);
    const res = patch
      ? await this.http.send('PATCH', path, call, { body: patchOp(...patchOperations(this.app, user, pending)), headers, what: 'update user' })
      : await this.http.send('PUT', path, call, { body: applyToBody(this.app, withoutServerAttributes(user), pending), headers, what: 'update user' });
    if (res.status === 200 || res.status === 204) return { status: 'applied' };
    if (res.status === 409) {
      throw new InvalidRequestError(`${this.app}: cannot update user ${user.id}: ${this.http.errorDetail(res) ?? 'uniqueness'} (a new userName held by another account?); resolve the conflict in ${this.app}`, this.app);
    }
    if (res.status === 412) throw new TransientError(`${this.app}: user ${user.id} changed while it was being updated (412); the next attempt re-reads it`, this.app);
    if (res.status === 404) throw new TransientError(`${this.app}: user ${user.id} disappeared while it was being updated; the next attempt starts over`, this.app);
    throw this.http.fail(res, 'update user');
  }

  async disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, false, call);
  }

  async enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, true, call);
  }

  async readAccountByRef(ref: AccountRef, call: CallContext): Promise<Account | undefined> {
    const user = await this.resolve(ref, call);
    return user ? account(this.app, user, { known: false, reason: 'memberships not read' }) : undefined;
  }

  private async setActive(ref: AccountRef, active: boolean, call: CallContext): Promise<ChangeOutcome> {
    const what = active ? 'enable user' : 'disable user';
    const user = await this.resolve(ref, call);
    if (!user) throw new NotFoundError(`${this.app}: ${what}: no account ${ref.id} / externalId ${JSON.stringify(ref.externalId)}`, this.app);
    if ((user.active ?? true) === active) return { status: 'already-in-state' };
    // RFC 7644 §3.5.2.3 replace; If-Match (§3.14) so a concurrent change makes us re-read.
    const body = patchOp({ op: 'replace', path: 'active', value: active });
    const res = await this.http.send('PATCH', await this.path('User', call, user.id), call, { body, headers: ifMatch(user), what });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 412) throw new TransientError(`${this.app}: user ${user.id} changed during ${what} (412); the next attempt re-reads it`, this.app);
    throw this.http.fail(res, what);
  }

  async deleteAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) return { status: 'already-in-state' };
    const res = await this.http.send('DELETE', await this.path('User', call, user.id), call, { headers: ifMatch(user), what: 'delete user' });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 404) return { status: 'already-in-state' }; // RFC 7644 §3.6: gone already
    if (res.status === 412) throw new TransientError(`${this.app}: user ${user.id} changed before it was deleted (412); the next attempt re-reads it`, this.app);
    throw this.http.fail(res, 'delete user');
  }

  async listAccounts(req: PageRequest, call: CallContext): Promise<Page<Account>> {
    const params = { startIndex: startIndexOf(this.app, req.cursor), count: req.pageSize ?? this.pageSize };
    const page = await listPage(await this.listing('User', 'list users', call), scimUserSchema, params, call);
    // Each user's memberships: from the page itself on a server that returns `groups`, else from the member lists once per listing.
    const held = await this.memberships.ofListed(page.items, req.cursor === undefined, call);
    return contractPage({ ...page, items: page.items.map((user, i) => account(this.app, user, held[i]!)) }, (a) => a);
  }

  // ---- entitlements (groups) ------------------------------------------------------------------

  async listEntitlements(req: PageRequest, call: CallContext): Promise<Page<Entitlement>> {
    const params = { startIndex: startIndexOf(this.app, req.cursor), count: req.pageSize ?? this.pageSize, excludedAttributes: 'members' };
    const page = await listPage(await this.listing('Group', 'list groups', call), scimGroupSchema, params, call);
    return contractPage(page, (g) => ({ app: this.app, id: g.id, displayName: g.displayName ?? g.id }));
  }

  /** By displayName, never by a 409 the server need not send (groups.ts). */
  findEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<FindEntitlementResult> {
    return this.groups.find(req.name, call);
  }

  ensureEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<EnsureEntitlementResult> {
    return this.groups.ensure(req.name, call);
  }

  async grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) throw new NotFoundError(`${this.app}: grant ${req.entitlementId}: no account ${req.account.id} / externalId ${JSON.stringify(req.account.externalId)}`, this.app);
    // The read decides: RFC 7644 §3.5.2.1 answers an add of a member already present like any add.
    const held = await this.memberships.of(user, call);
    if (held.known && held.groupIds.includes(req.entitlementId)) return { status: 'already-in-state' };
    const body = patchOp({ op: 'add', path: 'members', value: [{ value: user.id }] });
    const res = await this.http.send('PATCH', await this.path('Group', call, req.entitlementId), call, { body, what: 'add group member' });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 404) throw new NotFoundError(`${this.app}: group ${req.entitlementId} does not exist`, this.app);
    throw this.http.fail(res, 'add group member');
  }

  async revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) return { status: 'already-in-state' }; // no account, no membership
    let operation: Record<string, unknown> = { op: 'remove', path: memberValuePath(user.id) };
    if (!isFilterSafe(user.id)) {
      // A remove by value list gets no noTarget answer for a non-member: a read must decide.
      const held = await this.memberships.of(user, call);
      if (held.known && !held.groupIds.includes(req.entitlementId)) return { status: 'already-in-state' };
      operation = { op: 'remove', path: 'members', value: [{ value: user.id }] };
    }
    const res = await this.http.send('PATCH', await this.path('Group', call, req.entitlementId), call, { body: patchOp(operation), what: 'remove group member' });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    // RFC 7644 §3.12: noTarget, "the specified path did not yield an attribute or attribute value
    // that could be operated on": the account is not a member.
    if (res.status === 400 && this.http.scimType(res) === 'noTarget') return { status: 'already-in-state' };
    if (res.status === 404) throw new NotFoundError(`${this.app}: group ${req.entitlementId} does not exist`, this.app);
    throw this.http.fail(res, 'remove group member');
  }

  // ---- reads ----------------------------------------------------------------------------------

  private async findByExternalId(employeeId: string, call: CallContext): Promise<ScimUser | undefined> {
    const found = await this.findUsers('externalId', employeeId, (u) => u.externalId === employeeId, call);
    if (found.length > 1) throw new InvalidRequestError(`${this.app} holds ${found.length} users with externalId ${JSON.stringify(employeeId)}`, this.app);
    return found[0];
  }

  /** Users whose `path` equals `value`, compared by `exact` on our side over every page. */
  private async findUsers(path: string, value: string, exact: (u: ScimUser) => boolean, call: CallContext): Promise<ScimUser[]> {
    const { filter } = equalityLookup(path, value);
    const users = await listAll(await this.listing('User', `find user by ${path}`, call), scimUserSchema, { filter, count: this.pageSize }, call);
    return users.filter(exact);
  }

  /** The account `ref` names: by id when that id still carries our externalId, else by externalId. */
  private async resolve(ref: AccountRef, call: CallContext): Promise<ScimUser | undefined> {
    if (ref.id) {
      const res = await this.http.send('GET', await this.path('User', call, ref.id), call, { what: 'read user' });
      if (res.status === 200) {
        const user = this.http.parse(res, scimUserSchema, 'User');
        const version = res.headers.get('etag') ?? user.meta?.version;
        if (!ref.externalId || user.externalId === ref.externalId) return { ...user, meta: { ...user.meta, ...(version ? { version } : {}) } };
      } else if (res.status !== 404) {
        throw this.http.fail(res, 'read user');
      }
    }
    return ref.externalId ? this.findByExternalId(ref.externalId, call) : undefined;
  }
}
