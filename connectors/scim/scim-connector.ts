// SCIM 2.0 accounts (RFC 7643/7644), correlated by externalId = employee id.
import { z } from 'zod';
import type { Account, AccountConnector, AccountRef, CallContext, Capability, EnsureAccountRequest, EnsureAccountResult } from '../contract.js';
import { InvalidRequestError, TransientError } from '../errors.js';
import { errorForStatus, retryAfterMs } from '../http-status.js';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

export type ScimConnectorOptions = {
  app: string;
  baseUrl: string;
  /** Read on every call, so a rotated token is picked up without a restart. */
  bearerToken: () => string;
  timeoutMs?: number;
};

/** What we read back from the app, validated at the boundary; other attributes are ignored. */
const scimUserSchema = z.looseObject({
  id: z.string().min(1),
  externalId: z.string().optional(),
  userName: z.string(),
  active: z.boolean().optional(),
  name: z.looseObject({ givenName: z.string().optional(), familyName: z.string().optional() }).optional(),
  emails: z.array(z.looseObject({ value: z.string(), primary: z.boolean().optional() })).optional(),
  meta: z.looseObject({ version: z.string().optional() }).optional(),
});
type ScimUser = z.infer<typeof scimUserSchema>;

const listResponseSchema = z.looseObject({
  totalResults: z.number().int(),
  Resources: z.array(scimUserSchema).optional(),
});

const scimErrorSchema = z.looseObject({ scimType: z.string().optional(), detail: z.string().optional() });

/** A SCIM filter string literal: JSON string rules (RFC 7644 §3.4.2.2), never concatenated raw. */
export function scimString(value: string): string {
  return JSON.stringify(value);
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

function differs(current: ScimUser, req: EnsureAccountRequest): boolean {
  const email = current.emails?.find((e) => e.primary)?.value ?? current.emails?.[0]?.value;
  return (
    current.userName !== req.userName ||
    current.name?.givenName !== req.givenName ||
    current.name?.familyName !== req.familyName ||
    email !== req.email ||
    (current.active ?? true) !== req.active
  );
}

export class ScimConnector implements AccountConnector {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['accounts']);
  private readonly baseUrl: string;

  constructor(private readonly options: ScimConnectorOptions) {
    this.app = options.app;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined> {
    const user = await this.findByExternalId(req.employeeId, call);
    if (!user) return undefined;
    const email = user.emails?.find((e) => e.primary)?.value ?? user.emails?.[0]?.value;
    return { ...this.ref(user), userName: user.userName, active: user.active ?? true, ...(email ? { email } : {}) };
  }

  async ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    const existing = await this.findByExternalId(req.employeeId, call);
    if (existing) return this.converge(existing, req, call);
    const res = await this.request('POST', '/Users', call, desiredUser(req));
    if (res.status === 201) return { status: 'created', account: this.ref(await this.parseUser(res)) };
    if (res.status === 409) {
      // RFC 7644 §3.3: 409 uniqueness. Either our own earlier create (a retry after a lost answer)
      // or a userName held by an account we did not create: read by the correlation key to tell.
      const error = scimErrorSchema.safeParse(await res.json().catch(() => ({})));
      const raced = await this.findByExternalId(req.employeeId, call);
      if (raced) return this.converge(raced, req, call);
      return {
        status: 'action-required',
        message: `userName ${req.userName} is held by another account in ${this.app} (${error.success ? (error.data.detail ?? error.data.scimType ?? 'uniqueness') : 'uniqueness'}); not taken over`,
      };
    }
    throw await this.failure(res, 'create user');
  }

  private async converge(current: ScimUser, req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult> {
    if (!differs(current, req)) return { status: 'unchanged', account: this.ref(current) };
    const headers: Record<string, string> = current.meta?.version ? { 'If-Match': current.meta.version } : {};
    const res = await this.request('PUT', `/Users/${encodeURIComponent(current.id)}`, call, { ...desiredUser(req), id: current.id }, headers);
    if (res.status === 200) return { status: 'updated', account: this.ref(await this.parseUser(res)) };
    if (res.status === 412) throw new TransientError(`user ${current.id} changed while it was being updated (412); will re-read`, this.app);
    throw await this.failure(res, 'replace user');
  }

  private async findByExternalId(employeeId: string, call: CallContext): Promise<ScimUser | undefined> {
    const filter = `externalId eq ${scimString(employeeId)}`;
    const res = await this.request('GET', `/Users?filter=${encodeURIComponent(filter)}`, call);
    if (res.status !== 200) throw await this.failure(res, 'find user by externalId');
    const body = listResponseSchema.safeParse(await res.json());
    if (!body.success) throw new InvalidRequestError(`${this.app} answered a malformed ListResponse: ${body.error.message}`, this.app);
    const found = (body.data.Resources ?? []).filter((u) => u.externalId === employeeId);
    if (found.length > 1) throw new InvalidRequestError(`${this.app} holds ${found.length} users with externalId ${employeeId}`, this.app);
    return found[0];
  }

  private ref(user: ScimUser): AccountRef {
    return { app: this.app, id: user.id, externalId: user.externalId ?? '' };
  }

  private async parseUser(res: Response): Promise<ScimUser> {
    const parsed = scimUserSchema.safeParse(await res.json());
    if (!parsed.success) throw new InvalidRequestError(`${this.app} answered a malformed User: ${parsed.error.message}`, this.app);
    return parsed.data;
  }

  private async failure(res: Response, what: string) {
    const text = await res.text().catch(() => '');
    return errorForStatus(this.app, res.status, `${this.app}: ${what} answered ${res.status} ${text.slice(0, 300)}`, retryAfterMs(res.headers.get('retry-after')));
  }

  private async request(method: string, path: string, call: CallContext, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const signal = AbortSignal.any([call.signal, AbortSignal.timeout(this.options.timeoutMs ?? 10_000)]);
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        signal,
        headers: {
          accept: 'application/scim+json',
          authorization: `Bearer ${this.options.bearerToken()}`,
          'x-correlation-id': call.correlationId,
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      // Connection refused or reset, timeouts, a dropped answer: the write may or may not have
      // happened, which the next attempt resolves by reading by externalId first.
      throw new TransientError(`${this.app}: ${method} ${path.split('?')[0]} failed: ${(err as Error).message}`, this.app, undefined, { cause: err });
    }
  }
}
