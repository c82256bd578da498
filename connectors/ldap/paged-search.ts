// Paged listings (RFC 2696 simple paged results) over one or more bases. The paged-results cookie
// belongs to the connection that started the search, so each listing has its own connection and its
// cursor is valid on this worker only, until `listingIdleMs` passes: a listing runs inside one
// (heartbeating) activity and a retried activity starts it again without a cursor. A listing that
// breaks off throws and is forgotten: it must never look complete.
import { randomUUID } from 'node:crypto';
import type { Client, Entry, Filter } from 'ldapts';
import type { CallContext, PageRequest } from '../contract.js';
import { InvalidRequestError } from '../errors.js';
import type { LdapConnectorOptions } from './ldap-connector.js';
import { abortable, type LdapPool } from './pool.js';

type Pages = AsyncGenerator<{ searchEntries: Entry[] }>;

type Listing = {
  client: Client;
  /** The paged search of the current base. */
  pages: Pages;
  /** Bases still to list after the current one. */
  rest: string[];
  start: (base: string) => Pages;
  /** The page fetched ahead, so a page knows whether another follows. */
  ahead: Entry[] | undefined;
  done: boolean;
  lastUsed: number;
};

/** The connector's listing options (documented on LdapConnectorOptions). */
export type PagedSearchOptions = Pick<LdapConnectorOptions, 'app' | 'pageSize' | 'listingIdleMs'>;

export type PagedSearch = { bases: string[]; scope: 'one' | 'sub'; filter: Filter; attributes: string[] };

export class PagedSearches {
  private readonly listings = new Map<string, Listing>();

  constructor(
    private readonly pool: LdapPool,
    private readonly options: PagedSearchOptions,
  ) {}

  /** One page of `search`: the first without a cursor, the next with the cursor the previous page returned. */
  async page(req: PageRequest, search: PagedSearch, call: CallContext): Promise<{ items: Entry[]; next?: string }> {
    this.sweep();
    let id = req.cursor;
    let listing: Listing | undefined;
    if (id === undefined) {
      id = randomUUID();
      const client = await this.pool.connect(call);
      const pageSize = req.pageSize ?? this.options.pageSize ?? 200;
      const { scope, filter, attributes } = search;
      const start = (base: string) => client.searchPaginated(base, { scope, filter, attributes, paged: { pageSize } });
      listing = { client, pages: start(search.bases[0]!), rest: search.bases.slice(1), start, ahead: undefined, done: false, lastUsed: Date.now() };
      this.listings.set(id, listing);
      listing.ahead = await this.pull(listing, call);
    } else {
      listing = this.listings.get(id);
      if (!listing) {
        const { app } = this.options;
        throw new InvalidRequestError(`${app}: listing cursor unknown or expired on this worker; LDAP listings are read within one activity: start again without a cursor`, app);
      }
    }
    listing.lastUsed = Date.now();
    const items = listing.ahead ?? [];
    listing.ahead = listing.done ? undefined : await this.pull(listing, call);
    if (listing.ahead === undefined || (listing.done && listing.ahead.length === 0)) {
      this.listings.delete(id);
      await listing.client.unbind().catch(() => undefined);
      return { items };
    }
    return { items, next: id };
  }

  /** Closes every open listing's connection. */
  async close(): Promise<void> {
    const clients = [...this.listings.values()].map((l) => l.client);
    this.listings.clear();
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }

  /** The next non-empty page, going on to the next base when one is exhausted; undefined at the end. */
  private async pull(listing: Listing, call: CallContext): Promise<Entry[] | undefined> {
    try {
      for (;;) {
        const next = await abortable(listing.pages.next(), call.signal);
        if (!next.done && next.value.searchEntries.length > 0) return next.value.searchEntries;
        if (!next.done) continue; // an empty page: read on
        const base = listing.rest.shift();
        if (base === undefined) {
          listing.done = true;
          return undefined;
        }
        listing.pages = listing.start(base);
      }
    } catch (err) {
      // A listing that breaks off must not look complete.
      for (const [key, l] of this.listings) if (l === listing) this.listings.delete(key);
      await listing.client.unbind().catch(() => undefined);
      throw this.pool.error('paged search', err);
    }
  }

  private sweep(): void {
    const idle = this.options.listingIdleMs ?? 5 * 60_000;
    for (const [id, listing] of this.listings) {
      if (Date.now() - listing.lastUsed > idle) {
        this.listings.delete(id);
        void listing.client.unbind().catch(() => undefined);
      }
    }
  }
}
