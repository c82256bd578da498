// The mappable User attributes (policy/attribute-map.ts) as SCIM sees them: where each is read in a
// User (RFC 7643 §4.1, the enterprise extension §4.3), the PATCH operation that sets or clears it
// (RFC 7644 §3.5.2.3 replace, §3.5.2.2 remove), and the same change made to a whole User for a PUT
// (§3.5.1) where the server does not support PATCH. `manager` is the enterprise extension's
// complex `manager` (§4.3), whose `value` is the manager's SCIM id.
import { InvalidRequestError } from '../errors.js';
import type { AttributeChanges } from '../contract.js';
import type { ScimUser } from './resources.js';
import { primaryEmail } from './resources.js';

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type Body = Record<string, unknown>;

const record = (v: unknown): Body => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : {});
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The work e-mail replaced in place (or added as primary), the other addresses kept as they are. */
function withEmail(current: unknown, value: string | null): unknown[] {
  const list = Array.isArray(current) ? current.map(record) : [];
  // The address primaryEmail reads: the primary one, else the first.
  const primary = list.findIndex((e) => e.primary === true);
  const at = primary >= 0 ? primary : list.length > 0 ? 0 : -1;
  if (value === null) return at < 0 ? list : list.filter((_, i) => i !== at);
  if (at < 0) return [{ value, type: 'work', primary: true }];
  return list.map((e, i) => (i === at ? { ...e, value } : e));
}

type Mapping = {
  read(user: ScimUser): string | undefined;
  /** The PATCH operation of a change (value null clears). */
  operation(user: ScimUser, value: string | null): Record<string, unknown>;
  /** The change made to a whole User body (for a PUT, or a create). */
  apply(body: Body, value: string | null): void;
};

/** A body that holds enterprise attributes names the extension in `schemas` (RFC 7643 §3). */
function declareEnterprise(body: Body): void {
  body.schemas = [...new Set([...(Array.isArray(body.schemas) ? (body.schemas as string[]) : []), ENTERPRISE_USER])];
}

function simple(path: string, parent?: string): Mapping {
  const patchPath = parent ? `${parent === ENTERPRISE_USER ? `${parent}:` : `${parent}.`}${path}` : path;
  const container = (body: Body): Body => {
    if (!parent) return body;
    body[parent] = { ...record(body[parent]) };
    return body[parent] as Body;
  };
  return {
    read: (user) => text(parent ? record((user as Body)[parent])[path] : (user as Body)[path]),
    operation: (_user, value) => (value === null ? { op: 'remove', path: patchPath } : { op: 'replace', path: patchPath, value }),
    apply(body, value) {
      const target = container(body);
      if (value === null) delete target[path];
      else target[path] = value;
      if (parent === ENTERPRISE_USER) declareEnterprise(body);
    },
  };
}

/**
 * The enterprise `manager`, by its `value` (the manager's id). The whole complex attribute is
 * replaced (RFC 7644 §3.5.2.3, path with the extension URN prefix): a `$ref` or `displayName` of the
 * previous manager must not stay beside the new id.
 */
const manager: Mapping = {
  read: (user) => text(record(record((user as Body)[ENTERPRISE_USER]).manager).value),
  operation: (_user, value) => (value === null ? { op: 'remove', path: `${ENTERPRISE_USER}:manager` } : { op: 'replace', path: `${ENTERPRISE_USER}:manager`, value: { value } }),
  apply(body, value) {
    const extension = { ...record(body[ENTERPRISE_USER]) };
    if (value === null) delete extension.manager;
    else extension.manager = { value };
    body[ENTERPRISE_USER] = extension;
    declareEnterprise(body);
  },
};

const MAPPINGS: Record<string, Mapping> = {
  userName: simple('userName'),
  'name.givenName': simple('givenName', 'name'),
  'name.familyName': simple('familyName', 'name'),
  displayName: simple('displayName'),
  title: simple('title'),
  department: simple('department', ENTERPRISE_USER),
  employeeNumber: simple('employeeNumber', ENTERPRISE_USER),
  manager,
  emails: {
    read: (user) => primaryEmail(user),
    // The whole multi-valued attribute, so the other addresses stay as the user has them.
    operation: (user, value) => ({ op: 'replace', path: 'emails', value: withEmail(user.emails, value) }),
    apply(body, value) {
      body.emails = withEmail(body.emails, value);
    },
  },
};

function mapping(app: string, name: string): Mapping {
  const found = MAPPINGS[name];
  if (!found) throw new InvalidRequestError(`${app}: "${name}" is not a SCIM attribute this connector maps; one of: ${Object.keys(MAPPINGS).join(', ')}`, app);
  return found;
}

/** The mappable attributes the user holds. */
export function attributesOf(user: ScimUser): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, m] of Object.entries(MAPPINGS)) {
    const value = m.read(user);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The changes whose value the user does not hold yet. */
export function pendingChanges(app: string, user: ScimUser, changes: AttributeChanges): [string, string | null][] {
  return Object.entries(changes).filter(([name, value]) => (mapping(app, name).read(user) ?? null) !== value);
}

/** RFC 7644 §3.5.2: one operation per changed attribute. */
export function patchOperations(app: string, user: ScimUser, changes: readonly [string, string | null][]): Record<string, unknown>[] {
  return changes.map(([name, value]) => mapping(app, name).operation(user, value));
}

/** The changes made to a whole User body (a copy). */
export function applyToBody(app: string, body: Body, changes: readonly [string, string | null][]): Body {
  const out: Body = { ...body };
  for (const [name, value] of changes) mapping(app, name).apply(out, value);
  return out;
}
