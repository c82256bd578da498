// Searching with POST (RFC 7644 §3.4.3): the SearchRequest body as list parameters, and the search
// at the root of the SCIM base, which "MAY contain resources of different types" and therefore
// pages and sorts Users and Groups as one list.
import SCIMMY from 'scimmy';
import type { ListWindow, ScimContext } from './context.js';
import { CaseRules, sortRecords } from './filter.js';
import { scimResources } from './resources.js';
import type { ResourceType, StoredRecord } from './store.js';

type Json = Record<string, unknown>;

export type SearchParams = {
  filter?: string;
  attributes?: string;
  excludedAttributes?: string;
  sortBy?: string;
  sortOrder?: string;
  startIndex?: number;
  count?: number;
};

/** A SearchRequest body as list parameters; scimmy checks it (400 invalidSyntax or invalidValue). */
export function searchParams(body: unknown): SearchParams {
  const search = new SCIMMY.Messages.SearchRequest(body as never) as unknown as {
    filter?: string; attributes?: string[]; excludedAttributes?: string[]; sortBy?: string; sortOrder?: string; startIndex?: number; count?: number;
  };
  return {
    ...(search.filter !== undefined ? { filter: search.filter } : {}),
    ...(search.attributes ? { attributes: search.attributes.join(',') } : {}),
    ...(search.excludedAttributes ? { excludedAttributes: search.excludedAttributes.join(',') } : {}),
    ...(search.sortBy ? { sortBy: search.sortBy } : {}),
    ...(search.sortOrder ? { sortOrder: search.sortOrder } : {}),
    ...(search.startIndex !== undefined ? { startIndex: search.startIndex } : {}),
    ...(search.count !== undefined ? { count: search.count } : {}),
  };
}

const types: readonly ResourceType[] = ['User', 'Group'];
let caseRules: Record<ResourceType, CaseRules> | undefined;

/** The rules of the type whose schema compares the sort attribute case-insensitively, if any. */
function sortRules(sortBy: string): CaseRules {
  caseRules ??= { User: new CaseRules(SCIMMY.Schemas.User.definition), Group: new CaseRules(SCIMMY.Schemas.Group.definition) };
  return caseRules.Group.caseInsensitive(sortBy) && !caseRules.User.caseInsensitive(sortBy) ? caseRules.Group : caseRules.User;
}

/**
 * RFC 7644 §3.4.3 at the root: every resource type is searched with the same filter; the first
 * startIndex-1+count matches of each type, in sort order, are merged, sorted and paged as one list
 * (§3.4.2.3, §3.4.2.4), and each resource on the page is read again with the requested attributes
 * (§3.9), so sorting never depends on an attribute the client excluded.
 */
export async function searchAllTypes(params: SearchParams, maxResults: number, context: (list?: ListWindow) => ScimContext): Promise<Json> {
  const startIndex = Math.max(1, params.startIndex ?? 1);
  const count = Math.min(Math.max(0, params.count ?? maxResults), maxResults);
  const sortOrder = params.sortOrder === 'descending' ? 'descending' : 'ascending';
  const window: ListWindow = { startIndex: 1, count: startIndex - 1 + count, ...(params.sortBy ? { sortBy: params.sortBy } : {}), sortOrder };
  let totalResults = 0;
  let matches: Json[] = [];
  for (const type of types) {
    const resource = new scimResources[type](undefined, { ...(params.filter !== undefined ? { filter: params.filter } : {}), count: window.count });
    const list = JSON.parse(JSON.stringify(await resource.read(context(window)))) as { totalResults: number; Resources: Json[] };
    totalResults += list.totalResults;
    matches.push(...list.Resources);
  }
  if (params.sortBy) matches = sortRecords(matches as StoredRecord[], params.sortBy, sortOrder, sortRules(params.sortBy)) as Json[];
  let page = matches.slice(startIndex - 1, startIndex - 1 + count);
  if (params.attributes || params.excludedAttributes) {
    const projection = { ...(params.attributes ? { attributes: params.attributes } : {}), ...(params.excludedAttributes ? { excludedAttributes: params.excludedAttributes } : {}) };
    page = await Promise.all(
      page.map(async (r) => {
        const type = (r.meta as Json).resourceType as ResourceType;
        return JSON.parse(JSON.stringify(await new scimResources[type](r.id as string, projection).read(context()))) as Json;
      }),
    );
  }
  return { schemas: [SCIMMY.Messages.ListResponse.id], totalResults, startIndex, itemsPerPage: page.length, Resources: page };
}
