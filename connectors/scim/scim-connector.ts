// SCIM 2.0 (RFC 7643/7644): users correlated by externalId = employee id, group membership by
// PATCH, complete pagination, ETags, bearer token or OAuth2 client credentials, timeouts.
//
// Outcomes come from a read or from the RFC's own answers, per verb:
//   ensure   read by externalId → create (201) | replace with If-Match (200) | nothing (unchanged);
//            409 uniqueness on create → read by externalId again: found → converge (our own earlier
//            create whose answer was lost); else the userName is held by an account we did not
//            create → action-required (adopted only under an explicit `adopt` rule, and never an
//            account that carries another externalId).
//   grant    the user's `groups` (RFC 7643 §4.1.2) say member → already-in-state; else PATCH add.
//   revoke   PATCH remove `members[value eq "<id>"]`: 2xx → applied; 400 noTarget (RFC 7644 §3.12:
//            the filter matched no member) → already-in-state.
//   disable / enable   the user's `active` says so → already-in-state; else PATCH replace active.
//   delete   404 → already-in-state.
// Whatever a verb does not handle goes through the one status table (../http-status.ts). The
// connector never retries by itself (except once on 401 with a fresh token): Temporal does.
import type { Logger } from 'pino';
import { z } from 'zod';
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
import { InvalidRequestError, NotFoundError, TransientError, type ConnectorError } from '../errors.js';
import { errorForStatus, retryAfterMs } from '../http-status.js';
import { equalityLookup, isFilterSafe, memberValuePath } from './filter.js';
import { OAuthClientCredentials } from './oauth.js';

export { scimString } from './filter.js';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type ScimAuthOptions =
  | { kind: 'bearer'; /** Read on every call, so a rotated token is picked up without a restart. */ token: () => string }
  | {
      kind: 'oauth2';
      tokenUrl: string;
      clientId: string;
      clientSecret: () => string;
      scope?: string;
      clientAuthentication?: 'basic' | 'body';
    };

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
  /** Requests are logged at debug: method, path (no query), status, duration. Never headers. */
  logger?: Logger;
};

/** What we read back from the app, validated at the boundary; other attributes are kept as they are. */
const scimUserSchema = z.looseObject({
  id: z.string().min(1),
  externalId: z.string().optional(),
  userName: z.string(),
  active: z.boolean().optional(),
  name: z.looseObject({ givenName: z.string().optional(), familyName: z.string().optional() }).optional(),
  emails: z.array(z.looseObject({ value: z.string(), primary: z.boolean().optional() })).optional(),
  groups: z.array(z.looseObject({ value: z.string() })).optional(),
  schemas: z.array(z.string()).optional(),
  meta: z.looseObject({ version: z.string().optional() }).optional(),
});
type ScimUser = z.infer<typeof scimUserSchema>;

const scimGroupSchema = z.looseObject({ id: z.string().min(1), displayName: z.string().optional() });

const listResponseSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    totalResults: z.number().int().min(0),
    startIndex: z.number().int().optional(),
    Resources: z.array(item).optional(),
  });

const scimErrorSchema = z.looseObject({ scimType: z.string().optional(), detail: z.string().optional() });

type Answer = { status: number; headers: Headers; text: string; json: unknown };

type AuthSource = {
  token(signal: AbortSignal): Promise<string>;
  /** The app refused `token`: is another attempt with a fresh one worth it? */
  refused(token: string): boolean;
  secrets(): string[];
};

function authSource(options: ScimConnectorOptions, timeoutMs: number): AuthSource {
  const auth: ScimAuthOptions | undefined = options.auth ?? (options.bearerToken ? { kind: 'bearer', token: options.bearerToken } : undefined);
  if (!auth) throw new TypeError(`SCIM connector ${options.app}: give auth (bearer or oauth2) or bearerToken`);
  if (auth.kind === 'bearer') {
    const read = auth.token;
    return {
      token: async () => read(),
      // A token rotated while the request was in flight is worth one more try; the same token is not.
      refused: (token) => {
        try {
          return read() !== token;
        } catch {
          return false;
        }
      },
      secrets: () => {
        try {
          return [read()];
        } catch {
          return [];
        }
      },
    };
  }
  const oauth = new OAuthClientCredentials({ app: options.app, timeoutMs, ...auth });
  return {
    token: (signal) => oauth.token(signal),
    refused: (token) => {
      oauth.invalidate(token);
      return true;
    },
    secrets: () => oauth.secrets(),
  };
}

function desiredUser(req: EnsureAccountRequest) {
  return {
    schemas: [USER_SCHEMA],
    externalId: req.employeeId,
    userName: req.userName,
    name: { givenName: req.givenName, familyName: req.familyName },
    displayName: `${req.givenName} ${req.familyName}`,
    emails: [{ value: req.email, type: 'work', primary: true }],
    active: req.active,
  };
}

const primaryEmail = (user: ScimUser) => user.emails?.find((e) => e.primary)?.value ?? user.emails?.[0]?.value;

function differs(current: ScimUser, req: EnsureAccountRequest): boolean {
  return (
    current.externalId !== req.employeeId ||
    current.userName !== req.userName ||
    current.name?.givenName !== req.givenName ||
    current.name?.familyName !== req.familyName ||
    primaryEmail(current) !== req.email ||
    (current.active ?? true) !== req.active
  );
}

/** A PUT body (RFC 7644 §3.5.1) that keeps the attributes we do not manage as the app has them. */
function replacement(current: ScimUser, req: EnsureAccountRequest): Record<string, unknown> {
  const { meta: _meta, groups: _groups, ...kept } = current;
  const { formatted: _formatted, ...name } = (current.name ?? {}) as Record<string, unknown>;
  const desired = desiredUser(req);
  return {
    ...kept,
    ...desired,
    schemas: [...new Set([...(current.schemas ?? []), USER_SCHEMA])],
    id: current.id,
    name: { ...name, ...desired.name },
  };
}

const sameText = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The error's code, for messages: ECONNRESET, UND_ERR_SOCKET, ... */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message.slice(0, 120);
  return (err as Error).message?.slice(0, 120) ?? 'unknown error';
}

export class ScimConnector implements Connector, DisableCapable, DeleteCapable, ListAccountsCapable, EntitlementCapable {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['accounts', 'disable', 'delete', 'list-accounts', 'entitlements']);
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly auth: AuthSource;
  private readonly log: Logger | undefined;

  constructor(options: ScimConnectorOptions) {
    this.app = options.app;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pageSize = options.pageSize ?? 100;
    this.auth = authSource(options, this.timeoutMs);
    this.log = options.logger?.child({ app: options.app, connector: 'scim' });
  }

  // ---- accounts -------------------------------------------------------------------------------

  async getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined> {
    const user = await this.findByExternalId(req.employeeId, call);
    return user ? this.account(user) : undefined;
  }

  async ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    const existing = await this.findByExternalId(req.employeeId, call);
    if (existing) return this.converge(existing, req, call);
    if (req.adopt) {
      const adopted = await this.tryAdopt(req, call);
      if (adopted) return adopted;
    }
    const res = await this.send('POST', '/Users', call, { body: desiredUser(req), what: 'create user' });
    if (res.status === 201 || res.status === 200) return { status: 'created', account: this.ref(this.parse(res, scimUserSchema, 'User')) };
    if (res.status === 409) {
      // RFC 7644 §3.3: 409 uniqueness. Either our own earlier create (a retry after a lost answer)
      // or a userName held by an account we did not create: read by the correlation key to tell.
      const raced = await this.findByExternalId(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
      if (req.adopt) {
        const adopted = await this.tryAdopt(req, call);
        if (adopted) return adopted;
      }
      return this.collision(req, this.errorDetail(res) ?? 'uniqueness', call);
    }
    throw this.fail(res, 'create user');
  }

  private async converge(current: ScimUser, req: EnsureAccountRequest, call: CallContext, adopted = false): Promise<EnsureAccountResult> {
    if (!differs(current, req)) return { status: 'unchanged', account: this.ref(current) };
    const res = await this.send('PUT', `/Users/${encodeURIComponent(current.id)}`, call, {
      body: replacement(current, req),
      headers: current.meta?.version ? { 'if-match': current.meta.version } : {},
      what: 'replace user',
    });
    if (res.status === 200) {
      const account = this.ref(this.parse(res, scimUserSchema, 'User'));
      return adopted ? { status: 'updated', account, adopted: true } : { status: 'updated', account };
    }
    if (res.status === 409) {
      return {
        status: 'action-required',
        message: `${this.app}: cannot rename account ${current.id} to userName ${JSON.stringify(req.userName)}: held by another account (${this.errorDetail(res) ?? 'uniqueness'}); not taken over`,
        account: this.ref(current),
      };
    }
    if (res.status === 412) throw new TransientError(`${this.app}: user ${current.id} changed while it was being replaced (412); the next attempt re-reads it`, this.app);
    if (res.status === 404) throw new TransientError(`${this.app}: user ${current.id} disappeared while it was being replaced; the next attempt starts over`, this.app);
    throw this.fail(res, 'replace user');
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
      ...(holder ? { account: this.ref(holder) } : {}),
    };
  }

  async disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, false, call);
  }

  async enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    return this.setActive(req.account, true, call);
  }

  private async setActive(ref: AccountRef, active: boolean, call: CallContext): Promise<ChangeOutcome> {
    const what = active ? 'enable user' : 'disable user';
    const user = await this.resolve(ref, call);
    if (!user) throw new NotFoundError(`${this.app}: ${what}: no account ${ref.id} / externalId ${JSON.stringify(ref.externalId)}`, this.app);
    if ((user.active ?? true) === active) return { status: 'already-in-state' };
    // RFC 7644 §3.5.2.3 replace; If-Match (§3.14) so a concurrent change makes us re-read.
    const res = await this.send('PATCH', `/Users/${encodeURIComponent(user.id)}`, call, {
      body: { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: active }] },
      headers: user.meta?.version ? { 'if-match': user.meta.version } : {},
      what,
    });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 412) throw new TransientError(`${this.app}: user ${user.id} changed during ${what} (412); the next attempt re-reads it`, this.app);
    throw this.fail(res, what);
  }

  async deleteAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) return { status: 'already-in-state' };
    const res = await this.send('DELETE', `/Users/${encodeURIComponent(user.id)}`, call, {
      headers: user.meta?.version ? { 'if-match': user.meta.version } : {},
      what: 'delete user',
    });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 404) return { status: 'already-in-state' }; // RFC 7644 §3.6: gone already
    if (res.status === 412) throw new TransientError(`${this.app}: user ${user.id} changed before it was deleted (412); the next attempt re-reads it`, this.app);
    throw this.fail(res, 'delete user');
  }

  async listAccounts(req: PageRequest, call: CallContext): Promise<Page<Account>> {
    const page = await this.page('Users', scimUserSchema, { startIndex: this.cursor(req.cursor), count: req.pageSize ?? this.pageSize }, call, 'list users');
    return { items: page.items.map((u) => this.account(u)), total: page.total, ...(page.next !== undefined ? { next: String(page.next) } : {}) };
  }

  // ---- entitlements (groups) ------------------------------------------------------------------

  async listEntitlements(req: PageRequest, call: CallContext): Promise<Page<Entitlement>> {
    const page = await this.page(
      'Groups',
      scimGroupSchema,
      { startIndex: this.cursor(req.cursor), count: req.pageSize ?? this.pageSize, excludedAttributes: 'members' },
      call,
      'list groups',
    );
    return {
      items: page.items.map((g) => ({ app: this.app, id: g.id, displayName: g.displayName ?? g.id })),
      total: page.total,
      ...(page.next !== undefined ? { next: String(page.next) } : {}),
    };
  }

  async grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) throw new NotFoundError(`${this.app}: grant ${req.entitlementId}: no account ${req.account.id} / externalId ${JSON.stringify(req.account.externalId)}`, this.app);
    // The read decides: RFC 7644 §3.5.2.1 answers an add of a member already present like any add.
    if (user.groups?.some((g) => g.value === req.entitlementId)) return { status: 'already-in-state' };
    const res = await this.send('PATCH', `/Groups/${encodeURIComponent(req.entitlementId)}`, call, {
      body: { schemas: [PATCH_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value: user.id }] }] },
      what: 'add group member',
    });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    if (res.status === 404) throw new NotFoundError(`${this.app}: group ${req.entitlementId} does not exist`, this.app);
    throw this.fail(res, 'add group member');
  }

  async revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome> {
    const user = await this.resolve(req.account, call);
    if (!user) return { status: 'already-in-state' }; // no account, no membership
    // `groups` is left out when empty, so only a listed, different membership settles it here.
    if (user.groups && user.groups.length > 0 && !user.groups.some((g) => g.value === req.entitlementId)) return { status: 'already-in-state' };
    const operation = isFilterSafe(user.id)
      ? { op: 'remove', path: memberValuePath(user.id) }
      : { op: 'remove', path: 'members', value: [{ value: user.id }] };
    const res = await this.send('PATCH', `/Groups/${encodeURIComponent(req.entitlementId)}`, call, {
      body: { schemas: [PATCH_SCHEMA], Operations: [operation] },
      what: 'remove group member',
    });
    if (res.status === 204 || res.status === 200) return { status: 'applied' };
    // RFC 7644 §3.12: noTarget, "the specified path did not yield an attribute or attribute value
    // that could be operated on": the account is not a member.
    if (res.status === 400 && this.scimType(res) === 'noTarget') return { status: 'already-in-state' };
    if (res.status === 404) throw new NotFoundError(`${this.app}: group ${req.entitlementId} does not exist`, this.app);
    throw this.fail(res, 'remove group member');
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
    const out: ScimUser[] = [];
    let startIndex: number | undefined = 1;
    while (startIndex !== undefined) {
      const page: { items: ScimUser[]; next?: number } = await this.page('Users', scimUserSchema, { filter, startIndex, count: this.pageSize }, call, `find user by ${path}`);
      out.push(...page.items.filter(exact));
      startIndex = page.next;
    }
    return out;
  }

  /** The account `ref` names: by id when that id still carries our externalId, else by externalId. */
  private async resolve(ref: AccountRef, call: CallContext): Promise<ScimUser | undefined> {
    if (ref.id) {
      const res = await this.send('GET', `/Users/${encodeURIComponent(ref.id)}`, call, { what: 'read user' });
      if (res.status === 200) {
        const user = this.parse(res, scimUserSchema, 'User');
        const version = res.headers.get('etag') ?? user.meta?.version;
        if (!ref.externalId || user.externalId === ref.externalId) return { ...user, meta: { ...user.meta, ...(version ? { version } : {}) } };
      } else if (res.status !== 404) {
        throw this.fail(res, 'read user');
      }
    }
    return ref.externalId ? this.findByExternalId(ref.externalId, call) : undefined;
  }

  private async page<T extends z.ZodType>(
    endpoint: 'Users' | 'Groups',
    item: T,
    params: { filter?: string; startIndex: number; count: number; excludedAttributes?: string },
    call: CallContext,
    what: string,
  ): Promise<{ items: Array<z.infer<T>>; total: number; next?: number }> {
    const query = new URLSearchParams();
    if (params.filter !== undefined) query.set('filter', params.filter);
    query.set('startIndex', String(params.startIndex));
    query.set('count', String(params.count));
    if (params.excludedAttributes) query.set('excludedAttributes', params.excludedAttributes);
    const res = await this.send('GET', `/${endpoint}?${query}`, call, { what });
    if (res.status !== 200) throw this.fail(res, what);
    const body = this.parse(res, listResponseSchema(item), 'ListResponse');
    const items = (body.Resources ?? []) as Array<z.infer<T>>;
    // RFC 7644 §3.4.2.4: 1-based startIndex; the next page starts after what this one returned.
    const start = body.startIndex ?? params.startIndex;
    const after = start + items.length;
    if (after > body.totalResults) return { items, total: body.totalResults };
    if (items.length === 0) {
      // An empty page before the end: the listing changed under us. Never let it look complete.
      throw new TransientError(`${this.app}: ${what}: page at ${start} is empty while totalResults is ${body.totalResults}; start the listing again`, this.app);
    }
    return { items, total: body.totalResults, next: after };
  }

  private cursor(cursor: string | undefined): number {
    if (cursor === undefined) return 1;
    if (!/^[1-9]\d{0,9}$/.test(cursor)) throw new InvalidRequestError(`${this.app}: not a SCIM listing cursor: ${JSON.stringify(cursor.slice(0, 40))}`, this.app);
    return Number(cursor);
  }

  private ref(user: ScimUser): AccountRef {
    return { app: this.app, id: user.id, externalId: user.externalId ?? '' };
  }

  private account(user: ScimUser): Account {
    const email = primaryEmail(user);
    return {
      ...this.ref(user),
      userName: user.userName,
      active: user.active ?? true,
      ...(email !== undefined ? { email } : {}),
      ...(user.name?.givenName !== undefined ? { givenName: user.name.givenName } : {}),
      ...(user.name?.familyName !== undefined ? { familyName: user.name.familyName } : {}),
      entitlements: (user.groups ?? []).map((g) => g.value),
    };
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private parse<T extends z.ZodType>(res: Answer, schema: T, what: string): z.infer<T> {
    const parsed = schema.safeParse(res.json);
    if (!parsed.success) throw new InvalidRequestError(`${this.app} answered a malformed ${what} (HTTP ${res.status}): ${z.prettifyError(parsed.error).slice(0, 300)}`, this.app);
    return parsed.data;
  }

  private scimType(res: Answer): string | undefined {
    const parsed = scimErrorSchema.safeParse(res.json);
    return parsed.success ? parsed.data.scimType : undefined;
  }

  private errorDetail(res: Answer): string | undefined {
    const parsed = scimErrorSchema.safeParse(res.json);
    if (!parsed.success) return undefined;
    const parts = [parsed.data.scimType, parsed.data.detail].filter((p): p is string => !!p);
    return parts.length ? this.redact(parts.join(': ').slice(0, 300)) : undefined;
  }

  private fail(res: Answer, what: string): ConnectorError {
    const detail = this.errorDetail(res) ?? this.redact(res.text.slice(0, 200));
    return errorForStatus(this.app, res.status, this.redact(`${this.app}: ${what} answered ${res.status}${detail ? ` (${detail})` : ''}`), retryAfterMs(res.headers.get('retry-after')));
  }

  private redact(text: string): string {
    return redactSecrets(text, this.auth.secrets());
  }

  private async send(
    method: string,
    path: string,
    call: CallContext,
    init: { body?: unknown; headers?: Record<string, string>; what: string },
    retried = false,
  ): Promise<Answer> {
    const bare = path.split('?')[0]!;
    const started = performance.now();
    const token = await this.auth.token(call.signal);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        signal: AbortSignal.any([call.signal, timeout]),
        headers: {
          accept: 'application/scim+json, application/json',
          authorization: `Bearer ${token}`,
          'x-correlation-id': call.correlationId,
          ...(init.body === undefined ? {} : { 'content-type': 'application/scim+json' }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      text = await res.text();
    } catch (err) {
      if (call.signal.aborted) throw call.signal.reason ?? err;
      // Connection refused or reset, a timeout, an answer that never came: the write may or may
      // not have happened, which the next attempt resolves by reading by externalId first.
      const why = timeout.aborted ? `timed out after ${this.timeoutMs} ms` : `failed (${networkReason(err)})`;
      this.log?.debug({ method, path: bare, error: why, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'SCIM request failed');
      throw new TransientError(this.redact(`${this.app}: ${init.what}: ${method} ${bare} ${why}`), this.app);
    }
    this.log?.debug({ method, path: bare, status: res.status, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'SCIM request');
    if (res.status === 401 && !retried && this.auth.refused(token)) return this.send(method, path, call, init, true);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }
}
