// SCIM listings (RFC 7644 §3.4.2): ListResponse pages by 1-based startIndex and count. A cursor is
// the startIndex of the next page.
//
// Servers differ in `totalResults`: exact (the RFC), absent, or approximate (some give only the
// size of the page). A listing must be complete whichever it is, and the common lookup of one
// resource must still cost one request, so where a listing goes after a page is decided from the
// page alone (`afterPage`, pure):
//   an empty page                 the end, unless it comes before a stated total: then the listing
//                                 changed under us, and that is a TransientError, never a listing
//                                 that looks complete;
//   total stated                  past it and short of what we asked, when the server declared its
//                                 page size (ServiceProviderConfig filter.maxResults) and we asked
//                                 within it: the end; past it with a full page: the total may be
//                                 approximate, so the next page is asked;
//   total absent                  a page short of what we asked ends it when the server declared
//                                 its page size; otherwise the listing goes on to an empty page.
// A server that did not declare its page size (RFC 7643 §5 makes maxResults REQUIRED) may cut a
// page below `count` (RFC 7644 §3.4.2.4), and a short page with an approximate total then looks like
// the end: there the listing always goes on to an empty page, one request more.
import type { z } from 'zod';
import type { CallContext, Page } from '../contract.js';
import { InvalidRequestError, TransientError } from '../errors.js';
import type { ScimHttp } from './http.js';
import { listResponseSchema } from './resources.js';

export type ListParams = { filter?: string; startIndex: number; count: number; attributes?: string; excludedAttributes?: string };
export type ListPage<T> = { items: T[]; total?: number; next?: number };

/** What one page showed. `declared`: the server declared its page size and `asked` is within it. */
export type PageSeen = { start: number; asked: number; returned: number; total?: number; declared: boolean };

/** Where a listing goes after a page: on to `next`, done, or `changed` (an empty page before the stated total). */
export type PageDecision = { next: number } | { done: true } | { changed: true };

export function afterPage(page: PageSeen): PageDecision {
  const { start, asked, returned, total, declared } = page;
  if (returned === 0) return total !== undefined && start <= total ? { changed: true } : { done: true };
  const next = start + returned;
  const short = returned < asked;
  if (total === undefined) return short && declared ? { done: true } : { next };
  return next > total && short && declared ? { done: true } : { next };
}

/** The count to ask for: ours, within the server's declared page size. */
export function pageCount(wanted: number, maxResults: number | undefined): { count: number; declared: boolean } {
  return maxResults === undefined ? { count: wanted, declared: false } : { count: Math.min(wanted, maxResults), declared: true };
}

export type Listing = {
  http: ScimHttp;
  /** The endpoint's path relative to the base URL, e.g. `/Users`. */
  endpoint: string;
  /** The server's declared page size (ServiceProviderConfig filter.maxResults). */
  maxResults?: number | undefined;
  what: string;
  /** Called when the endpoint answers 404: it is not where discovery said. */
  onMissingEndpoint?: () => void;
};

/** One page of a listing, each resource validated by `item`. */
export async function listPage<T extends z.ZodType>(listing: Listing, item: T, params: ListParams, call: CallContext): Promise<ListPage<z.infer<T>>> {
  const { http, endpoint, what } = listing;
  const { count, declared } = pageCount(params.count, listing.maxResults);
  const query = new URLSearchParams();
  if (params.filter !== undefined) query.set('filter', params.filter);
  query.set('startIndex', String(params.startIndex));
  query.set('count', String(count));
  if (params.attributes) query.set('attributes', params.attributes);
  if (params.excludedAttributes) query.set('excludedAttributes', params.excludedAttributes);
  const res = await http.send('GET', `${endpoint}?${query}`, call, { what });
  if (res.status === 404) listing.onMissingEndpoint?.();
  if (res.status !== 200) throw http.fail(res, what);
  const body = http.parse(res, listResponseSchema(item), 'ListResponse');
  const items = (body.Resources ?? []) as Array<z.infer<T>>;
  // RFC 7644 §3.4.2.4: 1-based startIndex; the next page starts after what this one returned.
  const start = body.startIndex ?? params.startIndex;
  const total = body.totalResults;
  const decision = afterPage({ start, asked: count, returned: items.length, declared, ...(total !== undefined ? { total } : {}) });
  if ('changed' in decision) {
    throw new TransientError(`${http.app}: ${what}: page at ${start} is empty while totalResults is ${total}; start the listing again`, http.app);
  }
  return { items, ...(total !== undefined ? { total } : {}), ...('next' in decision ? { next: decision.next } : {}) };
}

/** Every resource of a listing, page after page from the first. */
export async function listAll<T extends z.ZodType>(listing: Listing, item: T, params: Omit<ListParams, 'startIndex'>, call: CallContext): Promise<Array<z.infer<T>>> {
  const out: Array<z.infer<T>> = [];
  let startIndex: number | undefined = 1;
  while (startIndex !== undefined) {
    const page: ListPage<z.infer<T>> = await listPage(listing, item, { ...params, startIndex }, call);
    out.push(...page.items);
    startIndex = page.next;
  }
  return out;
}

/** The startIndex a contract cursor stands for: 1 without one. */
export function startIndexOf(app: string, cursor: string | undefined): number {
  if (cursor === undefined) return 1;
  if (!/^[1-9]\d{0,9}$/.test(cursor)) throw new InvalidRequestError(`${app}: not a SCIM listing cursor: ${JSON.stringify(cursor.slice(0, 40))}`, app);
  return Number(cursor);
}

/** A SCIM page as a contract page, each item mapped by `map`; the cursor is the next startIndex. */
export function contractPage<T, U>(page: ListPage<T>, map: (item: T) => U): Page<U> {
  return { items: page.items.map(map), ...(page.total !== undefined ? { total: page.total } : {}), ...(page.next !== undefined ? { next: String(page.next) } : {}) };
}
