// The storage behind scimmy's User and Group resources: its ingress (create, replace, and the
// write half of PATCH), egress (read, list) and degress (delete) handlers, with the rules a real
// SaaS app enforces that scimmy leaves to the implementer: uniqueness (409), If-Match (412),
// member references, and no duplicate members.
import SCIMMY from 'scimmy';
import { SCIM_BASE_PATH } from './apps-file.js';
import { contextOf, type ScimContext } from './context.js';
import { hidesMembers, withoutMembers } from './hidden-members.js';
import { assertIfMatch } from './etag.js';
import { CaseRules, matchRecords, sortRecords } from './filter.js';
import { applySchemaRules } from './schema-rules.js';
import { scimError } from './scim-errors.js';
import { membersOf, type Member, type ResourceType, type StoredRecord } from './store.js';
import type { WriteEntry, WriteOperation } from './write-log.js';

type Resource = InstanceType<typeof SCIMMY.Types.Resource>;
type Filter = InstanceType<typeof SCIMMY.Types.Filter>;

export const scimResources = { User: SCIMMY.Resources.User, Group: SCIMMY.Resources.Group } as const;
export const endpoints: Record<ResourceType, string> = { User: 'Users', Group: 'Groups' };

let declared = false;
/** Case rules by type and by whether the app compares userName exactly (see caseRulesFor). */
const caseRules = new Map<string, CaseRules>();

/**
 * Declares Users (with the enterprise extension, RFC 7643 §4.3) and Groups to scimmy, once per
 * process; every app in the process shares the declaration and is told apart by the context.
 */
export function declareScimResources(): void {
  if (declared) return;
  declared = true;
  for (const type of ['User', 'Group'] as const) {
    SCIMMY.Resources.declare(scimResources[type], {
      ...(type === 'User' ? { extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] } : {}),
      ingress: (resource: Resource, instance: unknown, ctx: unknown) => ingress(type, resource, instance, contextOf(ctx)),
      egress: (resource: Resource, ctx: unknown) => egress(type, resource, contextOf(ctx)),
      degress: (resource: Resource, ctx: unknown) => degress(type, resource, contextOf(ctx)),
    });
  }
  // Locations relative to the server; the routes make them absolute for the host the client used.
  for (const resource of [SCIMMY.Resources.User, SCIMMY.Resources.Group, SCIMMY.Resources.Schema, SCIMMY.Resources.ResourceType, SCIMMY.Resources.ServiceProviderConfig]) {
    resource.basepath(SCIM_BASE_PATH);
  }
  applySchemaRules([SCIMMY.Schemas.User.definition, SCIMMY.Schemas.Group.definition]);
}

/** How an app's filters compare strings: as the schema says, or userName exactly (`userNameCaseExact`). */
function caseRulesFor(type: ResourceType, ctx: ScimContext): CaseRules {
  const exact = type === 'User' && ctx.target.behaviour.userNameCaseExact;
  const key = `${type}/${exact}`;
  let rules = caseRules.get(key);
  if (!rules) {
    rules = new CaseRules((type === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group).definition, exact ? ['userName'] : []);
    caseRules.set(key, rules);
  }
  return rules;
}

const notFound = (type: ResourceType, id: string) => scimError(404, undefined, `${type} ${id} not found`);

/** A record without meta.version: what an app without versions (`etags: false`) shows. */
function unversioned(record: StoredRecord): Record<string, unknown> {
  const { version: _version, ...meta } = record.meta;
  return { ...record, meta };
}

/**
 * A stored record as the client sees it: absolute $refs, a user's groups (RFC 7643 §4.1.2), and
 * meta.version (RFC 7643 §3.1) when the app has versions.
 */
function present(type: ResourceType, stored: StoredRecord, ctx: ScimContext): Record<string, unknown> {
  const record = ctx.target.behaviour.etags ? stored : unversioned(stored);
  const ref = (t: ResourceType, id: string) => `${ctx.origin}${ctx.target.behaviour.basePath}/${endpoints[t]}/${id}`;
  if (type === 'Group') {
    if (hidesMembers(ctx.target.behaviour)) return withoutMembers(stored);
    const members = membersOf(stored).map((m) => ({ ...m, $ref: ref(m.type ?? 'User', m.value) }));
    return members.length > 0 ? { ...record, members } : record;
  }
  if (!ctx.target.behaviour.userGroups) return record; // the profile of servers that never return `groups`
  const groups = ctx.target.store
    .groupsOf(stored.id)
    .map((g) => ({ value: g.id, $ref: ref('Group', g.id), ...(typeof g.displayName === 'string' ? { display: g.displayName } : {}), type: 'direct' }));
  return groups.length > 0 ? { ...record, groups } : record;
}

/** Attributes a schema never returns (RFC 7643 §7 `returned: "never"`): User's password. */
const NEVER_RETURNED: Record<ResourceType, readonly string[]> = { User: ['password'], Group: [] };
const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * A stored resource as a read of it returns it with the default attributes (RFC 7644 §3.4.2,
 * §3.9), built directly: `schemas`, absolute meta.location, nothing `returned: "never"`. What
 * scimmy's per-resource schema coercion gives for a record our own ingress stored, without
 * coercing it again: that coercion was ~90 % of a 1,000-user page (bench/results/README.md,
 * reconciliation). test/targets/list-fast-path.test.ts holds every listed resource equal to its read.
 */
export function presentListed(type: ResourceType, stored: StoredRecord, ctx: ScimContext): Record<string, unknown> {
  const shown = present(type, stored, ctx);
  const { id, meta, ...rest } = shown as { id: string; meta: Record<string, unknown> } & Record<string, unknown>;
  for (const name of NEVER_RETURNED[type]) delete rest[name];
  delete rest.schemas;
  const schemas = [SCIMMY.Schemas[type].definition.id, ...(type === 'User' && rest[ENTERPRISE_USER] !== undefined ? [ENTERPRISE_USER] : [])];
  const location = `${ctx.origin}${ctx.target.behaviour.basePath}/${endpoints[type]}/${id}`;
  return { schemas, id, ...rest, meta: { resourceType: type, ...meta, location } };
}

/** One page of an unfiltered, unsorted listing and the total, straight from the store (see presentListed). */
export function listedPage(type: ResourceType, window: { startIndex: number; count: number }, ctx: ScimContext): { total: number; resources: Array<Record<string, unknown>> } {
  const all = ctx.target.store.all(type);
  const page = all.slice(window.startIndex - 1, window.startIndex - 1 + window.count);
  return { total: all.length, resources: page.map((record) => presentListed(type, record, ctx)) };
}

/** `attr eq "value"` on id or a unique attribute: answered from the store's indexes. */
function indexedLookup(type: ResourceType, filter: Filter, ctx: ScimContext): StoredRecord[] | undefined {
  if (filter.length !== 1) return undefined;
  const entries = Object.entries(filter[0] as Record<string, unknown>);
  if (entries.length !== 1) return undefined;
  const [name, expression] = entries[0]!;
  if (!Array.isArray(expression) || expression.length !== 2 || String(expression[0]).toLowerCase() !== 'eq') return undefined;
  const value: unknown = expression[1];
  if (typeof value !== 'string') return undefined;
  const { store } = ctx.target;
  const found =
    name.toLowerCase() === 'id'
      ? store.get(type, value)
      : enforcedUnique(type, ctx).some((u) => u.name.toLowerCase() === name.toLowerCase())
        ? store.findByUnique(type, name, value)
        : null;
  return found === null ? undefined : found ? [found] : [];
}

function egress(type: ResourceType, resource: Resource, ctx: ScimContext): Record<string, unknown> | Array<Record<string, unknown>> {
  const { store } = ctx.target;
  if (resource.id !== undefined) {
    const record = store.get(type, resource.id);
    if (!record) throw notFound(type, resource.id);
    return present(type, record, ctx);
  }
  const rules = caseRulesFor(type, ctx);
  let selected = resource.filter
    ? (indexedLookup(type, resource.filter, ctx) ?? matchRecords(store.all(type), resource.filter, rules))
    : store.all(type);
  const lag = type === 'User' && resource.filter ? ctx.target.behaviour.searchLagMs : 0;
  if (lag > 0) selected = selected.filter((r) => Date.parse(r.meta.created) <= store.now() - lag);
  const window = ctx.list ?? { startIndex: 1, count: selected.length, sortOrder: 'ascending' as const };
  if (window.sortBy) selected = sortRecords(selected, window.sortBy, window.sortOrder, rules);
  const page = selected.slice(window.startIndex - 1, window.startIndex - 1 + window.count);
  // Only the page is turned into SCIM resources; the array's length carries totalResults (see routes).
  const out = new Array<Record<string, unknown>>(selected.length);
  page.forEach((record, i) => (out[i] = present(type, record, ctx)));
  return out;
}

/** Members as stored: unique by value, each naming an existing User or Group of this app. */
function normaliseMembers(value: unknown, ctx: ScimContext): Member[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw scimError(400, 'invalidValue', 'members must be a list');
  const { store } = ctx.target;
  const members = new Map<string, Member>();
  for (const raw of value as Array<Record<string, unknown>>) {
    const id = raw?.value;
    if (typeof id !== 'string' || id === '') throw scimError(400, 'invalidValue', 'every member needs a value (the id of a User or Group)');
    if (members.has(id)) continue; // RFC 7644 §3.5.2.1: adding a value already present changes nothing
    const type: ResourceType | undefined = store.get('User', id) ? 'User' : store.get('Group', id) ? 'Group' : undefined;
    if (!type) throw scimError(400, 'invalidValue', `member ${id} is not a User or Group of this app`);
    members.set(id, { value: id, type, ...(typeof raw.display === 'string' ? { display: raw.display } : {}) });
  }
  return [...members.values()];
}

/**
 * The unique attributes this app enforces: with `duplicateGroupNames`, groups may share a
 * displayName (RFC 7643 §4.2 sets no uniqueness); with `duplicateUsers`, users share anything.
 */
function enforcedUnique(type: ResourceType, ctx: ScimContext): ReadonlyArray<{ name: string; caseExact: boolean }> {
  const all = ctx.target.store.unique[type];
  if (type === 'User' && ctx.target.behaviour.duplicateUsers) return [];
  const duplicates = type === 'Group' && ctx.target.behaviour.duplicateGroupNames;
  return duplicates ? all.filter((u) => u.name !== 'displayName') : all;
}

function assertUnique(type: ResourceType, data: Record<string, unknown>, id: string | undefined, ctx: ScimContext): void {
  for (const u of enforcedUnique(type, ctx)) {
    const value = data[u.name];
    if (typeof value !== 'string') continue;
    const other = ctx.target.store.findByUnique(type, u.name, value);
    if (other && other.id !== id) {
      // RFC 7644 §3.3 (create) and §3.5.1 (replace): 409 with scimType "uniqueness".
      throw scimError(409, 'uniqueness', `${u.name} ${JSON.stringify(value)} is already used by another ${type}${u.caseExact ? '' : ' (compared case-insensitively)'}`);
    }
  }
}

function memberDiff(before: StoredRecord | undefined, after: StoredRecord): { membersAdded?: string[]; membersRemoved?: string[] } {
  const was = new Set(before ? membersOf(before).map((m) => m.value) : []);
  const is = new Set(membersOf(after).map((m) => m.value));
  const added = [...is].filter((v) => !was.has(v));
  const removed = [...was].filter((v) => !is.has(v));
  return { ...(added.length ? { membersAdded: added } : {}), ...(removed.length ? { membersRemoved: removed } : {}) };
}

/**
 * Applies a create (no id) or a replace of a resource's attributes, with the checks a real service
 * provider makes: 404, If-Match (412), non-empty userName, member references, uniqueness (409).
 * Logs the write and schedules the state file. Shared by scimmy's ingress and the membership PATCH.
 */
export function applyWrite(type: ResourceType, id: string | undefined, attributes: Record<string, unknown>, ctx: ScimContext): StoredRecord {
  const { store, writes } = ctx.target;
  const data = { ...attributes };
  delete data.schemas;
  delete data.meta;
  delete data.id;
  if (type === 'User' && (typeof data.userName !== 'string' || data.userName.trim() === '')) {
    throw scimError(400, 'invalidValue', 'userName must not be empty (RFC 7643 §4.1.1)');
  }
  if (type === 'Group') {
    const members = normaliseMembers(data.members, ctx);
    if (members && members.length > 0) data.members = members;
    else delete data.members;
  }
  const existing = id === undefined ? undefined : store.get(type, id);
  if (id !== undefined && !existing) throw notFound(type, id);
  if (existing) assertIfMatch(ctx.ifMatch, existing.meta.version, `${type} ${existing.id}`);
  assertUnique(type, data, id, ctx);

  const { record, changed, previous } = store.put(type, data, id);
  const operation: WriteOperation = !existing ? 'create' : ctx.method === 'PATCH' ? 'patch' : 'replace';
  writes.record({
    method: ctx.method as WriteEntry['method'],
    operation,
    resourceType: type,
    id: record.id,
    ...(typeof record.externalId === 'string' ? { externalId: record.externalId } : {}),
    version: record.meta.version,
    changed,
    ...(type === 'Group' ? memberDiff(previous, record) : {}),
  });
  if (changed) ctx.target.changed();
  return record;
}

function ingress(type: ResourceType, resource: Resource, instance: unknown, ctx: ScimContext): Record<string, unknown> {
  const data = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  return present(type, applyWrite(type, resource.id, data, ctx), ctx);
}

function degress(type: ResourceType, resource: Resource, ctx: ScimContext): void {
  const { store, writes } = ctx.target;
  const id = resource.id!;
  const existing = store.get(type, id);
  if (!existing) throw notFound(type, id);
  assertIfMatch(ctx.ifMatch, existing.meta.version, `${type} ${id}`);
  // A deleted resource stops being anyone's member (RFC 7643 §4.2 members reference live resources).
  for (const group of store.groupsOf(id)) {
    const { id: groupId, meta: _meta, members: _members, ...rest } = group;
    const members = membersOf(group).filter((m) => m.value !== id);
    const { record } = store.put('Group', members.length > 0 ? { ...rest, members } : rest, groupId);
    writes.record({
      method: 'DELETE',
      operation: 'patch',
      resourceType: 'Group',
      id: groupId,
      ...(typeof record.externalId === 'string' ? { externalId: record.externalId } : {}),
      version: record.meta.version,
      changed: true,
      membersRemoved: [id],
      cascade: true,
    });
  }
  store.remove(type, id);
  writes.record({
    method: 'DELETE',
    operation: 'delete',
    resourceType: type,
    id,
    ...(typeof existing.externalId === 'string' ? { externalId: existing.externalId } : {}),
    changed: true,
  });
  ctx.target.changed();
}
