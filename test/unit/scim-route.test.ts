// A SCIM request path as the route template its client span is named by: the endpoint kept, ids
// and queries never (they may be a person's), whatever the id looks like.
import { describe, expect, it } from 'vitest';
import { scimRoute } from '../../connectors/scim/http.js';

describe('scimRoute', () => {
  it('keeps the endpoint and the .search verb, and makes every id {id}', () => {
    expect(scimRoute('/Users')).toBe('/Users');
    expect(scimRoute('/Users?filter=externalId%20eq%20%22E1234567%22')).toBe('/Users');
    expect(scimRoute('/Users/2819c223-7f76-453a-919d-413861904646')).toBe('/Users/{id}');
    expect(scimRoute('/Users/alice@example.com?attributes=groups')).toBe('/Users/{id}');
    expect(scimRoute('/Groups/admins')).toBe('/Groups/{id}');
    expect(scimRoute('/Users/.search')).toBe('/Users/.search');
    expect(scimRoute('/ServiceProviderConfig')).toBe('/ServiceProviderConfig');
  });

  it('never keeps a first segment that could be a value', () => {
    expect(scimRoute('/E1234567')).toBe('/{id}');
    expect(scimRoute('/alice@example.com')).toBe('/{id}');
  });
});
