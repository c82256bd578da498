// SCIM groups by identity: a policy entitlement is the group whose displayName is its name.
//
// RFC 7643 §4.2 gives a group's displayName no uniqueness, and servers differ: some answer a second
// group of the same name with 409 uniqueness, others create it. So a group is never created on
// the hope of a 409: it is looked for first, and only a name no group holds is created.
//   find     GET <Groups endpoint>?filter=displayName eq "<name>" (RFC 7644 §3.4.2.2), every page, compared
//            exactly on our side (the server may compare case-insensitively, or the filter may be a
//            superset: filter.ts). One group → existing; none → missing; two or more → action-required.
//   ensure   find; missing → POST /Groups (RFC 7644 §3.3): 201 → created; 409 uniqueness (a
//            racing create, or a name held under another case) → find again: one → existing; else
//            action-required with the server's reason. Never a guess between two groups.
// Groups carry no externalId: apps differ in whether they keep one on groups, and the entitlement
// catalog (activities/entitlement-catalog.ts) resolves groups by displayName, so that is the identity.
import type { CallContext, EnsureEntitlementResult, Entitlement, FindEntitlementResult } from '../contract.js';
import { equalityLookup } from './filter.js';
import type { ScimHttp } from './http.js';
import { listAll, type Listing } from './paging.js';
import { scimGroupSchema } from './resources.js';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

type ScimGroup = { id: string; displayName?: string | undefined };

export class ScimGroups {
  constructor(
    private readonly http: ScimHttp,
    private readonly pageSize: number,
    /** The Groups endpoint as the server declares it (discovery.ts). */
    private readonly listing: (what: string, call: CallContext) => Promise<Listing>,
  ) {}

  async find(name: string, call: CallContext): Promise<FindEntitlementResult> {
    const groups = await this.named(name, call);
    if (groups.length === 1) return { status: 'existing', entitlement: this.entitlement(groups[0]!, name) };
    if (groups.length === 0) return { status: 'missing' };
    return {
      status: 'action-required',
      message: `${this.http.app}: ${groups.length} groups are named ${JSON.stringify(name)} (ids ${groups.map((g) => g.id).join(', ')}); delete or rename all but one in the application`,
    };
  }

  async ensure(name: string, call: CallContext): Promise<EnsureEntitlementResult> {
    const found = await this.find(name, call);
    if (found.status !== 'missing') return found;
    const { endpoint } = await this.listing('create group', call);
    const res = await this.http.send('POST', endpoint, call, { body: { schemas: [GROUP_SCHEMA], displayName: name }, what: 'create group' });
    if (res.status === 201 || res.status === 200) return { status: 'created', entitlement: this.entitlement(this.http.parse(res, scimGroupSchema, 'Group'), name) };
    if (res.status !== 409) throw this.http.fail(res, 'create group');
    // RFC 7644 §3.3: 409 uniqueness. A create that raced ours, or the name held under another case.
    const again = await this.find(name, call);
    if (again.status !== 'missing') return again;
    return {
      status: 'action-required',
      message: `${this.http.app}: cannot create group ${JSON.stringify(name)}: ${this.http.errorDetail(res) ?? 'uniqueness'}, yet no group has exactly that name (one differing in case?); rename it in the application or fix the policy`,
    };
  }

  /** Groups whose displayName is exactly `name`, over every page of the filtered listing. */
  private async named(name: string, call: CallContext): Promise<ScimGroup[]> {
    const { filter } = equalityLookup('displayName', name);
    const params = { filter, count: this.pageSize, excludedAttributes: 'members' };
    const groups = await listAll(await this.listing('find group by displayName', call), scimGroupSchema, params, call);
    return groups.filter((g) => g.displayName === name);
  }

  private entitlement(group: ScimGroup, name: string): Entitlement {
    return { app: this.http.app, id: group.id, displayName: group.displayName ?? name };
  }
}
