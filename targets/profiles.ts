// Behaviour profiles: what a target app does where SCIM servers people run differ from each other
// (and sometimes from RFC 7643/7644). The connector must work against every one of them, so the
// conformance kit and the lifecycle tests run against them. An app takes a named profile and may
// override single behaviours on top of it (config/apps.yaml `profile:` and `behaviour:`).
import { z } from 'zod';

export const behaviourSchema = z.strictObject({
  /** Users carry their memberships in `groups` (RFC 7643 §4.1.2); many servers never return it. */
  userGroups: z.boolean(),
  /**
   * How a PATCH may change a group's members: `any` (add/replace `members`, remove by
   * `members[value eq "<id>"]` or by value), or `filter-only` (a removal only through a
   * `members[value eq "<id>"]` path; a `members` remove with a value list is 400 invalidPath).
   */
  memberPatch: z.enum(['any', 'filter-only']),
  /** Resource versions (meta.version, ETag, If-Match; RFC 7644 §3.14); off: no versions at all. */
  etags: z.boolean(),
  /**
   * PATCH (RFC 7644 §3.5.2) supported and declared in the ServiceProviderConfig; off: declared
   * unsupported, and a PATCH is 501 (clients replace the whole resource with PUT, §3.5.1). An
   * override only: no named profile drops it, since memberships and disables need PATCH.
   */
  patch: z.boolean().default(true),
  /** `totalResults` of a list answer: exact, absent, or approximate (the size of the page only). */
  totalResults: z.enum(['exact', 'absent', 'approximate']),
  /** userName compared case-sensitively for uniqueness and filters (RFC 7643 says caseExact=false). */
  userNameCaseExact: z.boolean(),
  /** A second group with the same displayName is created (no 409 uniqueness). */
  duplicateGroupNames: z.boolean(),
  /** Where SCIM lives on the app's origin (RFC 7644 §3.1 leaves it to the provider). */
  basePath: z.string().regex(/^(?:\/[A-Za-z0-9._~-]+)+$/, 'expected a path such as /scim/v2 or /api/identity/scim'),
  /**
   * Group `members`: returned (RFC 7643 §4.2); `hidden`: never returned nor filterable; or
   * `unfiltered`: returned, but a filter on members is silently dropped and every group comes
   * back, as servers do with a filter they do not understand (hidden-members.ts).
   */
  groupMembers: z.enum(['returned', 'hidden', 'unfiltered']),
  /** A second user with another's userName or externalId is created (no 409 uniqueness), as some apps enforce neither. */
  duplicateUsers: z.boolean().default(false),
  /**
   * Filtered user searches do not see users created in the last `searchLagMs` (a search index
   * updated behind the writes, eventually consistent); reads by id and unfiltered lists do.
   */
  searchLagMs: z.number().int().min(0).max(600_000).default(0),
});

export type Behaviour = z.infer<typeof behaviourSchema>;

/** RFC 7643/7644 as written: what our target app did before profiles existed. */
const standard: Behaviour = {
  userGroups: true,
  memberPatch: 'any',
  etags: true,
  patch: true,
  totalResults: 'exact',
  userNameCaseExact: false,
  duplicateGroupNames: false,
  basePath: '/scim/v2',
  groupMembers: 'returned',
  duplicateUsers: false,
  searchLagMs: 0,
};

/** Named profiles, each one way real SCIM APIs behave; `saas` is all of them at once. */
export const profiles = {
  standard,
  'no-groups': { ...standard, userGroups: false },
  'filter-members': { ...standard, memberPatch: 'filter-only' },
  'no-etags': { ...standard, etags: false },
  'no-totals': { ...standard, totalResults: 'absent' },
  'approximate-totals': { ...standard, totalResults: 'approximate' },
  'case-sensitive': { ...standard, userNameCaseExact: true },
  'duplicate-groups': { ...standard, duplicateGroupNames: true },
  'base-path': { ...standard, basePath: '/api/v1/identity/scim' },
  /** Neither users nor groups show memberships: a client cannot read what a user holds. */
  'no-memberships': { ...standard, userGroups: false, groupMembers: 'hidden' },
  /** Users without groups, and a members filter answered with every group. */
  'ignored-member-filter': { ...standard, userGroups: false, groupMembers: 'unfiltered' },
  saas: {
    userGroups: false,
    memberPatch: 'filter-only',
    etags: false,
    patch: true,
    totalResults: 'approximate',
    userNameCaseExact: true,
    duplicateGroupNames: true,
    basePath: '/api/v1/identity/scim',
    groupMembers: 'returned',
    duplicateUsers: false,
    searchLagMs: 0,
  },
} as const satisfies Record<string, Behaviour>;

export type ProfileName = keyof typeof profiles;
export const profileNames = Object.keys(profiles) as ProfileName[];
export const profileNameSchema = z.enum(profileNames as [ProfileName, ...ProfileName[]]);

/** A profile with single behaviours overridden. */
export function behaviourOf(profile: ProfileName = 'standard', overrides: Partial<Behaviour> = {}): Behaviour {
  return behaviourSchema.parse({ ...profiles[profile], ...overrides });
}
