// SCIM listings (RFC 7644 §3.4.2): ListResponse pages by 1-based startIndex and count. A cursor is
// the startIndex of the next page; a page that ends early while totalResults says more follow means
// the listing changed under us, and is an error rather than a listing that looks complete.
import type { z } from 'zod';
import type { CallContext, Page } from '../contract.js';
import { InvalidRequestError, TransientError } from '../errors.js';
import type { ScimHttp } from './http.js';
import { listResponseSchema } from './resources.js';

export type ListParams = { filter?: string; startIndex: number; count: number; excludedAttributes?: string };
export type ListPage<T> = { items: T[]; total: number; next?: number };

/** One page of `/Users` or `/Groups`, each resource validated by `item`. */
export async function listPage<T extends z.ZodType>(
  http: ScimHttp,
  endpoint: 'Users' | 'Groups',
  item: T,
  params: ListParams,
  call: CallContext,
  what: string,
): Promise<ListPage<z.infer<T>>> {
  const query = new URLSearchParams();
  if (params.filter !== undefined) query.set('filter', params.filter);
  query.set('startIndex', String(params.startIndex));
  query.set('count', String(params.count));
  if (params.excludedAttributes) query.set('excludedAttributes', params.excludedAttributes);
  const res = await http.send('GET', `/${endpoint}?${query}`, call, { what });
  if (res.status !== 200) throw http.fail(res, what);
  const body = http.parse(res, listResponseSchema(item), 'ListResponse');
  const items = (body.Resources ?? []) as Array<z.infer<T>>;
  // RFC 7644 §3.4.2.4: 1-based startIndex; the next page starts after what this one returned.
  const start = body.startIndex ?? params.startIndex;
  const after = start + items.length;
  if (after > body.totalResults) return { items, total: body.totalResults };
  if (items.length === 0) {
    // An empty page before the end: the listing changed under us. Never let it look complete.
    throw new TransientError(`${http.app}: ${what}: page at ${start} is empty while totalResults is ${body.totalResults}; start the listing again`, http.app);
  }
  return { items, total: body.totalResults, next: after };
}

/** Every resource of a listing, page after page from the first. */
export async function listAll<T extends z.ZodType>(
  http: ScimHttp,
  endpoint: 'Users' | 'Groups',
  item: T,
  params: Omit<ListParams, 'startIndex'>,
  call: CallContext,
  what: string,
): Promise<Array<z.infer<T>>> {
  const out: Array<z.infer<T>> = [];
  let startIndex: number | undefined = 1;
  while (startIndex !== undefined) {
    const page: ListPage<z.infer<T>> = await listPage(http, endpoint, item, { ...params, startIndex }, call, what);
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
  return { items: page.items.map(map), total: page.total, ...(page.next !== undefined ? { next: String(page.next) } : {}) };
}
