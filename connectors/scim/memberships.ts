// The one place the SCIM connector learns which groups a user holds (getAccount, listAccounts,
// grant). RFC 7643 §4.1.2 makes `User.groups` read-only and optional to return, and many servers
// never return it; RFC 7643 §2.5 also lets a server omit an empty `groups`. So an absent `groups`
// says nothing by itself, and the reader goes, in order:
//   1. the user resource's `groups`, when the server may carry it (its schema declares it and no
//      answer has shown it missing); asked for with `?attributes=groups` when the schema says
//      `returned: request`. A `groups` that lists something is trusted, and teaches that the
//      server returns it: from then on an absent `groups` means none.
//   2. the Groups endpoint filtered by member, `members[value eq "<id>"]` (RFC 7644 §3.4.2.2),
//      asking only for displayName: one request, whose cost grows with the user's groups, not the
//      app's. Tried first because it is the cheap one; a server that cannot filter by member
//      answers 400 (invalidFilter) or 501, and is not asked again while the facts hold. A server
//      that ignores a filter it does not understand would answer with every group and make the
//      user a member of all of them, so the filter is first checked, once per discovery period,
//      with a member id no user has: any group in that answer means the filter is not applied.
//   3. the member lists of every group (`attributes=displayName,members`, paged): complete, but
//      its cost grows with the app. Only when Group declares `members` as returned, and only
//      believed when some group in the answer shows members (a server that leaves `members` out
//      of listings looks exactly like one whose groups are all empty).
// When the Groups endpoint shows memberships that a user resource did not carry, the server does
// not return `groups`, and an absent `groups` is never trusted on it again (discovery.ts keeps
// what was observed). When none of the ways works, the answer says why (`known: false`): callers
// must then neither claim the user holds nothing nor revoke on its strength.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CallContext } from '../contract.js';
import { InvalidRequestError } from '../errors.js';
import type { Discovery, ServerFacts, Observed } from './discovery.js';
import { isFilterSafe, memberValuePath } from './filter.js';
import type { ScimHttp } from './http.js';
import { listAll, listPage, type Listing } from './paging.js';
import type { Held, ScimUser } from './resources.js';

const userGroupsSchema = z.looseObject({ groups: z.array(z.looseObject({ value: z.string() })).optional() });
const groupIdSchema = z.looseObject({ id: z.string().min(1) });
const groupMembersSchema = z.looseObject({ id: z.string().min(1), members: z.array(z.looseObject({ value: z.string() })).optional() });

type Facts = ServerFacts & { observed: Observed };

export type MembershipReaderOptions = { http: ScimHttp; discovery: Discovery; pageSize: number };

/** How long a listing's membership index (MembershipReader.ofListed) is used for its later pages. */
const LISTING_INDEX_MS = 5 * 60_000;

export class MembershipReader {
  /** Who is in which group, from the member lists, for the pages of one listing. */
  private listingIndex: { builtAt: number; byUser: Map<string, string[]> } | undefined;

  constructor(private readonly options: MembershipReaderOptions) {}

  /**
   * What each user of a listing page holds. A server whose users carry `groups` answers from the
   * page itself (of). Elsewhere, asking per user would be a request per account (100,000 for a
   * reconciliation of 100,000): the groups' member lists are read once, on the listing's first
   * page (`first`), and serve its later pages. A membership changed during the listing may be
   * seen as before, like any change to a listing that is not a snapshot.
   */
  async ofListed(users: ScimUser[], first: boolean, call: CallContext): Promise<Held[]> {
    const { discovery } = this.options;
    const facts = await discovery.facts(call);
    const mayCarry = carriesGroups(facts);
    if ((mayCarry && facts.userGroups === 'request') || facts.groupMembers === 'never' || facts.groupMembers === 'undeclared') return this.each(users, call);
    const carried = users.some((u) => (u.groups?.length ?? 0) > 0);
    if (mayCarry && (carried || facts.observed.userGroups === 'returned')) {
      // The page shows `groups`: the server returns it, and an absent one means none (as in `of`).
      if (carried) discovery.observe({ userGroups: 'returned' });
      return users.map((u) => ({ known: true, groupIds: (u.groups ?? []).map((g) => g.value) }));
    }
    if (first || !this.listingIndex || Date.now() - this.listingIndex.builtAt > LISTING_INDEX_MS) {
      const groups = await listAll(this.listing(facts, 'list group members'), groupMembersSchema, { attributes: 'displayName,members', count: this.options.pageSize }, call);
      // Groups and none shows members: the server leaves them out of listings (memberships.ts, way 3).
      if (groups.length > 0 && !groups.some((g) => (g.members?.length ?? 0) > 0)) return this.each(users, call);
      const byUser = new Map<string, string[]>();
      for (const g of groups) {
        for (const m of g.members ?? []) {
          const held = byUser.get(m.value);
          if (held) held.push(g.id);
          else byUser.set(m.value, [g.id]);
        }
      }
      this.listingIndex = { builtAt: Date.now(), byUser };
    }
    const { byUser } = this.listingIndex;
    // Members by the member lists that carried no `groups`: this server does not return it.
    if (mayCarry && users.some((u) => byUser.has(u.id))) discovery.observe({ userGroups: 'missing' });
    return users.map((u) => ({ known: true, groupIds: byUser.get(u.id) ?? [] }));
  }

  private async each(users: ScimUser[], call: CallContext): Promise<Held[]> {
    const held: Held[] = [];
    for (const user of users) held.push(await this.of(user, call));
    return held;
  }

  /** The ids of the groups `user` (as read with default attributes) holds, or why they cannot be known. */
  async of(user: ScimUser, call: CallContext): Promise<Held> {
    const { discovery } = this.options;
    const facts = await discovery.facts(call);
    const mayCarry = carriesGroups(facts);
    if (mayCarry) {
      const carried = facts.userGroups === 'request' ? await this.requestedGroups(user.id, facts, call) : (user.groups ?? []).map((g) => g.value);
      if (carried.length > 0) {
        discovery.observe({ userGroups: 'returned' });
        return { known: true, groupIds: carried };
      }
      if (facts.observed.userGroups === 'returned') return { known: true, groupIds: [] };
    }
    const found = await this.fromGroups(user.id, facts, call);
    // The user resource did not carry what the Groups endpoint shows: this server does not return `groups`.
    if (mayCarry && found.known && found.groupIds.length > 0) discovery.observe({ userGroups: 'missing' });
    return found;
  }

  /** RFC 7644 §3.9: `groups` asked for by name, for a schema that returns it only on request. */
  private async requestedGroups(userId: string, facts: Facts, call: CallContext): Promise<string[]> {
    const { http } = this.options;
    const res = await http.send('GET', `${facts.endpoints.User}/${encodeURIComponent(userId)}?attributes=groups`, call, { what: 'read user groups' });
    if (res.status !== 200) throw http.fail(res, 'read user groups');
    return (http.parse(res, userGroupsSchema, 'User').groups ?? []).map((g) => g.value);
  }

  private async fromGroups(userId: string, facts: Facts, call: CallContext): Promise<Held> {
    const why: string[] = [`users do not carry \`groups\` (${groupsSource(facts)})`];
    const filterable = facts.filter.supported && facts.observed.memberFilter !== 'refused' && facts.observed.memberFilter !== 'ignored' && isFilterSafe(userId);
    if (filterable) {
      const filtered = await this.byMemberFilter(userId, facts, call);
      if (filtered) return { known: true, groupIds: filtered };
      why.push(`the Groups endpoint ${(await this.options.discovery.facts(call)).observed.memberFilter === 'ignored' ? 'ignores' : 'refused'} a members[value eq ...] filter`);
    } else {
      why.push(
        !facts.filter.supported
          ? 'the server does not support filters (ServiceProviderConfig)'
          : facts.observed.memberFilter === 'refused'
            ? 'the Groups endpoint refuses members[value eq ...] filters'
            : facts.observed.memberFilter === 'ignored'
              ? 'the Groups endpoint ignores members[value eq ...] filters'
            : 'the user id cannot be compared in a filter without escapes',
      );
    }
    if (facts.groupMembers === 'never' || facts.groupMembers === 'undeclared') {
      why.push(`the Group schema ${facts.groupMembers === 'never' ? 'never returns' : 'does not declare'} \`members\``);
      return unknown(this.options.http.app, why);
    }
    const listed = await this.byMemberLists(userId, facts, call);
    if (listed) return { known: true, groupIds: listed };
    why.push('no group in the Groups listing shows `members`');
    return unknown(this.options.http.app, why);
  }

  /** Groups whose members include the user, by filter; undefined when the server refuses or ignores the filter. */
  private async byMemberFilter(userId: string, facts: Facts, call: CallContext): Promise<string[] | undefined> {
    try {
      if (facts.observed.memberFilter !== 'honoured') {
        // An id no user has (a fresh UUID): a server that applies the filter answers no group.
        const probe = await listPage(this.listing(facts, 'check the member filter'), groupIdSchema, { filter: memberValuePath(randomUUID()), attributes: 'displayName', startIndex: 1, count: 1 }, call);
        this.options.discovery.observe({ memberFilter: probe.items.length === 0 ? 'honoured' : 'ignored' });
        if (probe.items.length > 0) return undefined;
      }
      // The valuePath of a PATCH is also a filter (RFC 7644 §3.4.2.2); `id` is always returned (RFC 7643 §3.1).
      const groups = await listAll(this.listing(facts, 'find groups by member'), groupIdSchema, { filter: memberValuePath(userId), attributes: 'displayName', count: this.options.pageSize }, call);
      return groups.map((g) => g.id);
    } catch (err) {
      // 400 (invalidFilter, or a server that says it differently) and 501: this server cannot filter by member.
      if (!(err instanceof InvalidRequestError)) throw err;
      this.options.discovery.observe({ memberFilter: 'refused' });
      return undefined;
    }
  }

  /** Groups whose member lists include the user; undefined when there are groups and none shows members. */
  private async byMemberLists(userId: string, facts: Facts, call: CallContext): Promise<string[] | undefined> {
    const groups = await listAll(this.listing(facts, 'list group members'), groupMembersSchema, { attributes: 'displayName,members', count: this.options.pageSize }, call);
    if (groups.length > 0 && !groups.some((g) => (g.members?.length ?? 0) > 0)) return undefined;
    return groups.filter((g) => g.members?.some((m) => m.value === userId)).map((g) => g.id);
  }

  private listing(facts: Facts, what: string): Listing {
    const { http, discovery } = this.options;
    return { http, endpoint: facts.endpoints.Group, maxResults: facts.filter.maxResults, what, onMissingEndpoint: () => discovery.invalidate() };
  }
}

/** May a user resource of this server carry `groups`: its schema returns it and no answer showed it missing? */
export function carriesGroups(facts: Facts): boolean {
  return facts.userGroups !== 'never' && facts.userGroups !== 'undeclared' && facts.observed.userGroups !== 'missing';
}

function groupsSource(facts: Facts): string {
  if (facts.userGroups === 'never') return 'the User schema never returns it';
  if (facts.userGroups === 'undeclared') return 'the User schema does not declare it';
  if (facts.observed.userGroups === 'missing') return 'seen missing on users the Groups endpoint lists as members';
  return 'none on this user';
}

function unknown(app: string, why: string[]): Held {
  return { known: false, reason: `${app}: memberships cannot be read: ${why.join('; ')}` };
}
