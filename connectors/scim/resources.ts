// The SCIM resources (RFC 7643): zod schemas of what the app returns, validated at the boundary
// (tolerant objects: attributes we do not manage are kept as the app has them), the User and
// PatchOp bodies we send, and users read back as the contract's accounts.
import { z } from 'zod';
import type { Account, AccountRef, EnsureAccountRequest } from '../contract.js';
import { applyToBody, attributesOf } from './attributes.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What we read back from the app, validated at the boundary; other attributes are kept as they are. */
export const scimUserSchema = z.looseObject({
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
export type ScimUser = z.infer<typeof scimUserSchema>;

export const scimGroupSchema = z.looseObject({ id: z.string().min(1), displayName: z.string().optional() });

/** RFC 7644 §3.4.2: a page of a listing. */
export const listResponseSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    // Absent or approximate on some servers: paging.ts decides where a listing ends.
    totalResults: z.number().int().min(0).optional(),
    startIndex: z.number().int().optional(),
    Resources: z.array(item).optional(),
  });

/** RFC 7644 §3.12: an error answer. */
export const scimErrorSchema = z.looseObject({ scimType: z.string().optional(), detail: z.string().optional() });

/** RFC 7644 §3.5.2: a PATCH body. */
export function patchOp(...operations: Array<Record<string, unknown>>) {
  return { schemas: [PATCH_SCHEMA], Operations: operations };
}

/** The User a request describes (RFC 7643 §4.1), correlated by externalId = employee id. */
export function desiredUser(app: string, req: EnsureAccountRequest): Record<string, unknown> & { name: Record<string, unknown> } {
  const user = {
    schemas: [USER_SCHEMA],
    externalId: req.employeeId,
    userName: req.userName,
    name: { givenName: req.givenName, familyName: req.familyName },
    displayName: `${req.givenName} ${req.familyName}`,
    emails: [{ value: req.email, type: 'work', primary: true }],
    active: req.active,
  };
  // The application's mapped attributes (policy/attribute-map.ts) over the ones above.
  const mapped = applyToBody(app, user, Object.entries(req.attributes ?? {}));
  return { ...mapped, name: { ...(mapped.name as Record<string, unknown>) } };
}

export const primaryEmail = (user: ScimUser) => user.emails?.find((e) => e.primary)?.value ?? user.emails?.[0]?.value;

/** Does the user differ from the request in anything we manage? */
export function differs(current: ScimUser, req: EnsureAccountRequest): boolean {
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
/** The user as a PUT body: without what only the server sets (meta, groups: RFC 7643 §3.1, §4.1.2). */
export function withoutServerAttributes(current: ScimUser): Record<string, unknown> {
  const { meta: _meta, groups: _groups, ...kept } = current;
  return kept;
}

export function replacement(app: string, current: ScimUser, req: EnsureAccountRequest): Record<string, unknown> {
  const kept = withoutServerAttributes(current);
  const { formatted: _formatted, ...name } = (current.name ?? {}) as Record<string, unknown>;
  const desired = desiredUser(app, req);
  return {
    ...kept,
    ...desired,
    schemas: [...new Set([...(current.schemas ?? []), USER_SCHEMA])],
    id: current.id,
    name: { ...name, ...desired.name },
  };
}

/** If-Match (RFC 7644 §3.14) on the version we read, so a concurrent change makes us re-read. */
export const ifMatch = (user: ScimUser): Record<string, string> => (user.meta?.version ? { 'if-match': user.meta.version } : {});

export function accountRef(app: string, user: ScimUser): AccountRef {
  return { app, id: user.id, externalId: user.externalId ?? '' };
}

/** What the user holds, as the memberships reader (memberships.ts) found it. */
export type Held = { known: true; groupIds: string[] } | { known: false; reason: string };

export function account(app: string, user: ScimUser, held: Held): Account {
  const email = primaryEmail(user);
  return {
    ...accountRef(app, user),
    userName: user.userName,
    active: user.active ?? true,
    ...(email !== undefined ? { email } : {}),
    ...(user.name?.givenName !== undefined ? { givenName: user.name.givenName } : {}),
    ...(user.name?.familyName !== undefined ? { familyName: user.name.familyName } : {}),
    attributes: attributesOf(user),
    ...(held.known ? { entitlements: held.groupIds } : { entitlements: [], entitlementsUnknown: held.reason }),
  };
}
