// Where a SCIM listing goes after a page (connectors/scim/paging.ts afterPage): complete whatever
// the server says of totalResults, one request for the common one-result lookup, and an empty page
// before a stated total never mistaken for the end.
import { describe, expect, it } from 'vitest';
import { afterPage, pageCount } from '../../connectors/scim/paging.js';

describe('afterPage', () => {
  it('a one-result lookup ends after its one page, whether the total is exact, approximate or absent (declared page size)', () => {
    expect(afterPage({ start: 1, asked: 100, returned: 1, total: 1, declared: true })).toEqual({ done: true });
    expect(afterPage({ start: 1, asked: 100, returned: 1, declared: true })).toEqual({ done: true });
  });

  it('a server that did not declare its page size: a short page past an approximate total may be a cut page, so on to an empty page', () => {
    // The server cut the page at 3 and gave the page size as the total.
    expect(afterPage({ start: 1, asked: 100, returned: 3, total: 3, declared: false })).toEqual({ next: 4 });
    expect(afterPage({ start: 4, asked: 100, returned: 3, total: 3, declared: false })).toEqual({ next: 7 });
    expect(afterPage({ start: 7, asked: 100, returned: 0, total: 3, declared: false })).toEqual({ done: true });
  });

  it('exact totals: on while the total is ahead; past it with a short page, done', () => {
    expect(afterPage({ start: 1, asked: 2, returned: 2, total: 5, declared: true })).toEqual({ next: 3 });
    expect(afterPage({ start: 5, asked: 2, returned: 1, total: 5, declared: true })).toEqual({ done: true });
  });

  it('a full page that reaches the stated total asks once more: the total may be only the page size', () => {
    expect(afterPage({ start: 1, asked: 2, returned: 2, total: 2, declared: true })).toEqual({ next: 3 });
    expect(afterPage({ start: 3, asked: 2, returned: 2, total: 2, declared: true })).toEqual({ next: 5 });
    expect(afterPage({ start: 5, asked: 2, returned: 1, total: 1, declared: true })).toEqual({ done: true });
    expect(afterPage({ start: 5, asked: 2, returned: 0, total: 0, declared: true })).toEqual({ done: true });
  });

  it('an empty page before the stated total means the listing changed: never complete', () => {
    expect(afterPage({ start: 3, asked: 2, returned: 0, total: 5, declared: true })).toEqual({ changed: true });
    expect(afterPage({ start: 6, asked: 2, returned: 0, total: 5, declared: true })).toEqual({ done: true });
  });

  it('no total: a short page ends it only when the server declared its page size; else on to an empty page', () => {
    expect(afterPage({ start: 1, asked: 2, returned: 2, declared: true })).toEqual({ next: 3 });
    expect(afterPage({ start: 1, asked: 100, returned: 40, declared: false })).toEqual({ next: 41 });
    expect(afterPage({ start: 41, asked: 100, returned: 0, declared: false })).toEqual({ done: true });
  });
});

describe('pageCount', () => {
  it('asks within the page size the server declared (ServiceProviderConfig filter.maxResults)', () => {
    expect(pageCount(100, 7)).toEqual({ count: 7, declared: true });
    expect(pageCount(5, 7)).toEqual({ count: 5, declared: true });
    expect(pageCount(100, undefined)).toEqual({ count: 100, declared: false });
  });
});
