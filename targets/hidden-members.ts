// The behaviour of servers that keep group membership to themselves (profiles.ts `groupMembers:
// 'hidden'`): a Group's `members` is never returned, the Group schema says so (RFC 7643 §7
// `returned: "never"`), and a filter on members is refused with 400 invalidFilter (RFC 7644
// §3.12). Members can still be written. With users that carry no `groups` either, a client has no
// way to read what a user holds: the connector must say so rather than guess.
import type { Behaviour } from './profiles.js';
import { scimError } from './scim-errors.js';
import type { ResourceType } from './store.js';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export const hidesMembers = (behaviour: Behaviour): boolean => behaviour.groupMembers === 'hidden';

/** A Group as such a server shows it: without `members`. */
export function withoutMembers<T extends Record<string, unknown>>(group: T): Omit<T, 'members'> {
  const { members: _members, ...rest } = group;
  return rest;
}

/** The filter a Group listing applies: none, for a server that drops a filter on members it does not understand. */
export function memberFilterAsApplied(behaviour: Behaviour, type: ResourceType, filter: string | undefined): string | undefined {
  return type === 'Group' && filter !== undefined && behaviour.groupMembers === 'unfiltered' && /\bmembers\b/i.test(filter) ? undefined : filter;
}

/** Refuses a filter on Group members (RFC 7644 §3.4.2.2 lets a provider refuse a filter it does not support). */
export function assertMembersFilterAllowed(behaviour: Behaviour, type: ResourceType, filter: string | undefined): void {
  if (type === 'Group' && filter !== undefined && hidesMembers(behaviour) && /\bmembers\b/i.test(filter)) {
    throw scimError(400, 'invalidFilter', 'this service provider does not filter groups by members');
  }
}

/** The /Schemas answer with the Group's `members` declared `returned: "never"`. */
export function schemasAsDeclared(body: unknown, behaviour: Behaviour): unknown {
  if (!hidesMembers(behaviour)) return body;
  const json = JSON.parse(JSON.stringify(body)) as { id?: string; Resources?: Array<{ id?: string }> };
  for (const schema of json.Resources ?? [json]) {
    if (schema.id !== GROUP_SCHEMA) continue;
    for (const attribute of (schema as { attributes?: Array<{ name: string; returned?: string }> }).attributes ?? []) {
      if (attribute.name === 'members') attribute.returned = 'never';
    }
  }
  return json;
}
