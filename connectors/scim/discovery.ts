// What a SCIM server does, learned from the server itself (RFC 7644 §4) and from what its answers
// show, once per connector and cached:
//   GET /ServiceProviderConfig   filter.supported and maxResults, patch, etag, sort (RFC 7643 §5)
//   GET /ResourceTypes           the User and Group endpoints (RFC 7643 §6)
//   GET /Schemas                 whether User declares `groups` and Group `members`, and when they
//                                are `returned` (RFC 7643 §7, §8.7.1)
// Every answer is validated with tolerant zod objects (servers add fields); a resource we cannot
// read is skipped, not fatal. A server without an endpoint (404, 501, or any refusal) is normal:
// that part falls back to what RFC 7643 says. Discovery itself never fails a verb: an unreachable
// server gets the RFC's defaults for a short while and is asked again, and the verb's own request
// then reports the trouble.
//
// What the answers show is kept beside what the server declared (`observed`): a server whose
// schema says users carry `groups` but whose users never do is found out by the memberships
// reader (memberships.ts), and the finding lives as long as the rest of the facts.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CallContext } from '../contract.js';
import type { ScimHttp } from './http.js';
import { USER_SCHEMA } from './resources.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** RFC 7643 §7 `returned`, or `undeclared` when the schema does not have the attribute. */
export type Returned = 'always' | 'default' | 'request' | 'never' | 'undeclared';

export type ServerFacts = {
  filter: { supported: boolean; /** The most resources one answer holds (RFC 7643 §5), when declared. */ maxResults?: number };
  patch: boolean;
  etag: boolean;
  sort: boolean;
  /** Paths relative to the base URL, e.g. `/Users`. */
  endpoints: { User: string; Group: string };
  /** When a User's `groups` is returned (RFC 7643 §4.1.2). */
  userGroups: Returned;
  /** When a Group's `members` is returned (RFC 7643 §4.2). */
  groupMembers: Returned;
};

/** What the server's answers showed, beyond what it declared. */
export type Observed = {
  /** `returned`: a user resource carried `groups`; `missing`: the Groups endpoint showed memberships a user resource lacked. */
  userGroups?: 'returned' | 'missing';
  /**
   * The Groups endpoint and a `members[value eq ...]` filter: `refused` (400 or 501), `ignored`
   * (groups came back for a member id no user has: the filter is not applied), `honoured`.
   */
  memberFilter?: 'refused' | 'ignored' | 'honoured';
};

/** What RFC 7643 and 7644 say a server does when it does not tell us otherwise. */
export const RFC_DEFAULTS: ServerFacts = {
  filter: { supported: true },
  patch: true,
  etag: false,
  sort: false,
  endpoints: { User: '/Users', Group: '/Groups' },
  userGroups: 'default', // RFC 7643 §8.7.1
  groupMembers: 'default',
};

const supported = z.looseObject({ supported: z.boolean() }).optional();
const serviceProviderConfigSchema = z.looseObject({
  patch: supported,
  etag: supported,
  sort: supported,
  filter: z.looseObject({ supported: z.boolean(), maxResults: z.number().int().positive().optional() }).optional(),
});
const resourceTypeSchema = z.looseObject({ name: z.string().optional(), endpoint: z.string(), schema: z.string() });
const attributeSchema = z.looseObject({ name: z.string(), returned: z.string().optional() });
const schemaSchema = z.looseObject({ id: z.string(), attributes: z.array(attributeSchema).optional() });
/** A ListResponse (RFC 7644 §3.4.2), or the bare array some servers send. */
const resourcesSchema = z.union([z.looseObject({ Resources: z.array(z.unknown()).optional() }).transform((b) => b.Resources ?? []), z.array(z.unknown())]);

/** An endpoint relative to the base URL (RFC 7643 §6 `endpoint`), or undefined when it is not one. */
function relativeEndpoint(endpoint: string, baseUrl: string): string | undefined {
  const local = endpoint.startsWith(baseUrl) ? endpoint.slice(baseUrl.length) : endpoint;
  const path = local.startsWith('/') ? local : `/${local}`;
  return /^(?:\/[A-Za-z0-9._~-]+)+$/.test(path) ? path : undefined;
}

function returnedOf(attributes: z.infer<typeof attributeSchema>[] | undefined, name: string): Returned {
  const attribute = attributes?.find((a) => a.name.toLowerCase() === name.toLowerCase());
  if (!attribute) return 'undeclared';
  const returned = attribute.returned?.toLowerCase();
  return returned === 'always' || returned === 'request' || returned === 'never' ? returned : 'default';
}

/** Valid resources of a listing; the ones we cannot read are skipped. */
function resources<T extends z.ZodType>(json: unknown, item: T): Array<z.infer<T>> {
  if (json === undefined) return [];
  const list = resourcesSchema.safeParse(json);
  if (!list.success) return [];
  return list.data.flatMap((r) => {
    const parsed = item.safeParse(r);
    return parsed.success ? [parsed.data as z.infer<T>] : [];
  });
}

/** The facts the three discovery answers (their JSON; undefined when there was none) give, over the RFC's defaults. */
export function factsFrom(answers: { config?: unknown; types?: unknown; schemas?: unknown }, baseUrl: string): ServerFacts {
  const facts: ServerFacts = { ...RFC_DEFAULTS, filter: { ...RFC_DEFAULTS.filter }, endpoints: { ...RFC_DEFAULTS.endpoints } };
  const config = serviceProviderConfigSchema.safeParse(answers.config);
  if (config.success) {
    const c = config.data;
    if (c.filter) facts.filter = { supported: c.filter.supported, ...(c.filter.maxResults !== undefined ? { maxResults: c.filter.maxResults } : {}) };
    if (c.patch) facts.patch = c.patch.supported;
    if (c.etag) facts.etag = c.etag.supported;
    if (c.sort) facts.sort = c.sort.supported;
  }
  for (const type of resources(answers.types, resourceTypeSchema)) {
    const endpoint = relativeEndpoint(type.endpoint, baseUrl);
    if (!endpoint) continue;
    if (type.schema === USER_SCHEMA) facts.endpoints.User = endpoint;
    if (type.schema === GROUP_SCHEMA) facts.endpoints.Group = endpoint;
  }
  const declared = resources(answers.schemas, schemaSchema);
  const user = declared.find((s) => s.id === USER_SCHEMA);
  const group = declared.find((s) => s.id === GROUP_SCHEMA);
  if (user) facts.userGroups = returnedOf(user.attributes, 'groups');
  if (group) facts.groupMembers = returnedOf(group.attributes, 'members');
  return facts;
}

export type DiscoveryOptions = {
  /** How long learned facts hold. Default 15 minutes. */
  ttlMs?: number;
  /** How soon a server that could not be reached is asked again. Default 30 s. */
  retryMs?: number;
  log?: Logger | undefined;
  now?: () => number;
};

type Entry = { facts: ServerFacts; observed: Observed; expiresAt: number };

export class Discovery {
  private entry: Entry | undefined;
  private pending: Promise<Entry> | undefined;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly http: ScimHttp,
    private readonly baseUrl: string,
    private readonly options: DiscoveryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
    this.retryMs = options.retryMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** The server's facts and what its answers showed: from the cache, or asked now (three requests at once). */
  async facts(call: CallContext): Promise<ServerFacts & { observed: Observed }> {
    const entry = this.entry && this.entry.expiresAt > this.now() ? this.entry : await this.refresh(call);
    return { ...entry.facts, observed: entry.observed };
  }

  /** Records what an answer showed (kept until the facts are next refreshed). */
  observe(seen: Observed): void {
    if (!this.entry) return;
    const changed = Object.entries(seen).some(([k, v]) => this.entry!.observed[k as keyof Observed] !== v);
    if (!changed) return;
    this.entry.observed = { ...this.entry.observed, ...seen };
    this.options.log?.info({ observed: this.entry.observed }, 'SCIM server behaviour observed');
  }

  /** Forget the facts: an answer contradicted them (an endpoint that is not there). */
  invalidate(): void {
    this.entry = undefined;
  }

  private refresh(call: CallContext): Promise<Entry> {
    // One discovery at a time, on its own signal: a caller that gives up must not fail the others.
    this.pending ??= this.discover({ ...call, signal: new AbortController().signal }).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async discover(call: CallContext): Promise<Entry> {
    const [config, types, schemas] = await Promise.all([this.get('/ServiceProviderConfig', call), this.get('/ResourceTypes', call), this.get('/Schemas', call)]);
    const facts = factsFrom({ config: config.json, types: types.json, schemas: schemas.json }, this.baseUrl);
    // A server we could not reach (or that failed) is asked again soon; one that answered, even
    // with 404s, has told us what it does.
    const reached = [config, types, schemas].every((a) => a.reached);
    const entry: Entry = { facts, observed: {}, expiresAt: this.now() + (reached ? this.ttlMs : this.retryMs) };
    this.entry = entry;
    this.options.log?.info({ facts, complete: reached }, 'SCIM server discovered');
    return entry;
  }

  /** One discovery request: its JSON when it answered 200; `reached` false when it failed or the server erred. */
  private async get(path: string, call: CallContext): Promise<{ json?: unknown; reached: boolean }> {
    try {
      const res = await this.http.send('GET', path, call, { what: `discover ${path}` });
      if (res.status === 200) return { json: res.json, reached: true };
      // 404 and 501 (RFC 7644 §4: not every server has every endpoint) are answers; 401, 429 and 5xx are not.
      return { reached: res.status === 501 || (res.status < 500 && res.status !== 401 && res.status !== 429) };
    } catch (err) {
      this.options.log?.debug({ path, error: (err as Error).message }, 'SCIM discovery request failed');
      return { reached: false };
    }
  }
}
