// Users and Groups over real HTTP: create, read, filter, paginate, sort, uniqueness, validation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_SCHEMA, groupBody, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp({ maxResults: 50 });
});
afterAll(async () => {
  await app.close();
});
beforeEach(async () => {
  await app.admin.reset();
});

const filter = (expression: string) => `filter=${encodeURIComponent(expression)}`;

describe('creating and reading users', () => {
  it('a created user is answered 201 with Location, id and meta, and reads back the same', async () => {
    const created = await app.scim('POST', '/Users', { body: userBody('alice', { externalId: 'E100', name: { givenName: 'Alice', familyName: 'Ng' }, active: true }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    const id = created.body.id as string;
    expect(created.headers.get('location')).toBe(`${app.scimUrl}/Users/${id}`);
    expect(created.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'alice',
      externalId: 'E100',
      active: true,
      meta: { resourceType: 'User', location: `${app.scimUrl}/Users/${id}` },
    });
    expect(created.body.meta.created).toMatch(/^\d{4}-\d\d-\d\dT/);

    const read = await app.scim('GET', `/Users/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it('an unknown id is a SCIM 404', async () => {
    const res = await app.scim('GET', '/Users/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
  });

  it('a user without userName is a 400 invalidValue', async () => {
    const res = await app.scim('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], externalId: 'E1' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidValue' });
  });

  it('a body that is not JSON is a 400 invalidSyntax', async () => {
    const res = await app.scim('POST', '/Users', { body: '{"userName": ' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
  });

  it('the enterprise extension is stored and can be filtered on by its full name', async () => {
    const ext = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const created = await app.scim('POST', '/Users', {
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ext], userName: 'eve', [ext]: { employeeNumber: '4711', department: 'Sales' } },
    });
    expect(created.status).toBe(201);
    expect(created.body[ext]).toEqual({ employeeNumber: '4711', department: 'Sales' });
    const found = await app.scim('GET', `/Users?${filter(`${ext}:employeeNumber eq "4711"`)}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].userName).toBe('eve');
  });
});

describe('uniqueness (RFC 7644 §3.3)', () => {
  it('a second user whose userName differs only in case is a 409 uniqueness', async () => {
    expect((await app.scim('POST', '/Users', { body: userBody('Bob.Smith') })).status).toBe(201);
    const dup = await app.scim('POST', '/Users', { body: userBody('bob.smith') });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'uniqueness' });
  });

  it('a second user with the same externalId is a 409 uniqueness', async () => {
    expect((await app.scim('POST', '/Users', { body: userBody('carol', { externalId: 'E200' }) })).status).toBe(201);
    const dup = await app.scim('POST', '/Users', { body: userBody('caroline', { externalId: 'E200' }) });
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');
  });

  it('externalId compares exactly: E300 and e300 are different users', async () => {
    expect((await app.scim('POST', '/Users', { body: userBody('dave', { externalId: 'E300' }) })).status).toBe(201);
    expect((await app.scim('POST', '/Users', { body: userBody('david', { externalId: 'e300' }) })).status).toBe(201);
  });

  it('a replace that takes another user\'s userName is a 409, and a replace keeping its own is fine', async () => {
    await app.scim('POST', '/Users', { body: userBody('frank') });
    const grace = await app.scim('POST', '/Users', { body: userBody('grace') });
    const taken = await app.scim('PUT', `/Users/${grace.body.id}`, { body: userBody('FRANK') });
    expect(taken.status).toBe(409);
    expect(taken.body.scimType).toBe('uniqueness');
    const own = await app.scim('PUT', `/Users/${grace.body.id}`, { body: userBody('Grace', { title: 'CTO' }) });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ userName: 'Grace', title: 'CTO' });
  });

  it('a deleted user\'s userName and externalId can be used again', async () => {
    const first = await app.scim('POST', '/Users', { body: userBody('heidi', { externalId: 'E400' }) });
    expect((await app.scim('DELETE', `/Users/${first.body.id}`)).status).toBe(204);
    expect((await app.scim('POST', '/Users', { body: userBody('heidi', { externalId: 'E400' }) })).status).toBe(201);
  });

  it('group displayNames are unique too, case-insensitively', async () => {
    expect((await app.scim('POST', '/Groups', { body: groupBody('Engineering') })).status).toBe(201);
    const dup = await app.scim('POST', '/Groups', { body: groupBody('engineering') });
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');
  });
});

describe('filters (RFC 7644 §3.4.2.2)', () => {
  beforeEach(async () => {
    for (const [userName, externalId, title] of [['ivan', 'E501', 'Engineer'], ['judy', 'E502', 'Manager'], ['Mallory', 'E503', 'Engineer']]) {
      await app.scim('POST', '/Users', { body: userBody(userName!, { externalId, title, emails: [{ value: `${userName}@Example.com`, type: 'work' }] }) });
    }
  });

  it('externalId eq finds the one user with that externalId', async () => {
    const res = await app.scim('GET', `/Users?${filter('externalId eq "E502"')}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(res.body.Resources.map((u: any) => u.userName)).toEqual(['judy']);
  });

  it('userName eq matches case-insensitively (userName is caseExact=false)', async () => {
    const res = await app.scim('GET', `/Users?${filter('userName eq "MALLORY"')}`);
    expect(res.body.Resources.map((u: any) => u.externalId)).toEqual(['E503']);
  });

  it('a filter that matches nothing answers an empty list, not 404', async () => {
    const res = await app.scim('GET', `/Users?${filter('externalId eq "nobody"')}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('compound filters with and/or, sw and sub-attributes select the right users', async () => {
    const both = await app.scim('GET', `/Users?${filter('title eq "engineer" and userName sw "m"')}`);
    expect(both.body.Resources.map((u: any) => u.userName)).toEqual(['Mallory']);
    const either = await app.scim('GET', `/Users?${filter('externalId eq "E501" or emails.value ew "judy@example.com"')}`);
    expect(either.body.Resources.map((u: any) => u.userName).sort()).toEqual(['ivan', 'judy']);
  });

  it('an unparsable filter is a 400 invalidFilter', async () => {
    const res = await app.scim('GET', `/Users?${filter('userName eq "x" and (')}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });

  it('attributes= returns only the asked attributes (and id)', async () => {
    const res = await app.scim('GET', `/Users?${filter('externalId eq "E501"')}&attributes=userName`);
    expect(res.body.Resources[0]).toMatchObject({ id: expect.any(String), userName: 'ivan' });
    expect(res.body.Resources[0].title).toBeUndefined();
  });

  it('POST /Users/.search runs the same query', async () => {
    const res = await app.scim('POST', '/Users/.search', {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'title eq "Engineer"', sortBy: 'userName', count: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 2, itemsPerPage: 1 });
    expect(res.body.Resources.map((u: any) => u.userName)).toEqual(['ivan']);
  });
});

describe('pagination and sorting (RFC 7644 §3.4.2.3, §3.4.2.4)', () => {
  beforeEach(async () => {
    for (let i = 1; i <= 7; i += 1) await app.scim('POST', '/Users', { body: userBody(`user${i}`, { externalId: `P${i}` }) });
  });

  it('startIndex and count page through the whole set, with totalResults over the whole set', async () => {
    const seen: string[] = [];
    for (const startIndex of [1, 4, 7]) {
      const res = await app.scim('GET', `/Users?startIndex=${startIndex}&count=3`);
      expect(res.body).toMatchObject({ totalResults: 7, startIndex });
      expect(res.body.itemsPerPage).toBe(res.body.Resources.length);
      seen.push(...res.body.Resources.map((u: any) => u.userName));
    }
    expect(seen).toEqual(['user1', 'user2', 'user3', 'user4', 'user5', 'user6', 'user7']);
  });

  it('a page past the end is empty and still reports totalResults', async () => {
    const res = await app.scim('GET', '/Users?startIndex=20&count=5');
    expect(res.body).toMatchObject({ totalResults: 7, startIndex: 20, itemsPerPage: 0, Resources: [] });
  });

  it('count=0 answers only totalResults; startIndex below 1 counts as 1', async () => {
    const none = await app.scim('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 7, Resources: [] });
    const fromZero = await app.scim('GET', '/Users?startIndex=0&count=2');
    expect(fromZero.body.startIndex).toBe(1);
    expect(fromZero.body.Resources.map((u: any) => u.userName)).toEqual(['user1', 'user2']);
  });

  it('pages are capped at the app\'s maxResults when count is larger or absent', async () => {
    for (let i = 8; i <= 60; i += 1) await app.scim('POST', '/Users', { body: userBody(`user${i}`) });
    const res = await app.scim('GET', '/Users?count=500');
    expect(res.body).toMatchObject({ totalResults: 60, itemsPerPage: 50 });
    const spc = await app.scim('GET', '/ServiceProviderConfig');
    expect(spc.body.filter).toEqual({ supported: true, maxResults: 50 });
  });

  it('sortBy with sortOrder=descending sorts the whole set before paging', async () => {
    const res = await app.scim('GET', '/Users?sortBy=externalId&sortOrder=descending&startIndex=2&count=2');
    expect(res.body.Resources.map((u: any) => u.externalId)).toEqual(['P6', 'P5']);
  });

  it('a non-numeric startIndex is a 400 invalidValue', async () => {
    const res = await app.scim('GET', '/Users?startIndex=abc');
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });
});

describe('discovery (RFC 7644 §4)', () => {
  it('ServiceProviderConfig announces patch, filter, sort and etag, no bulk, and both auth schemes', async () => {
    const res = await app.scim('GET', '/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ patch: { supported: true }, sort: { supported: true }, etag: { supported: true }, bulk: { supported: false } });
    expect(res.body.authenticationSchemes.map((s: any) => s.type)).toEqual(['oauthbearertoken', 'oauth2']);
  });

  it('ResourceTypes and Schemas describe Users (with the enterprise extension) and Groups', async () => {
    const types = await app.scim('GET', '/ResourceTypes');
    expect(types.body.Resources.map((t: any) => t.id).sort()).toEqual(['Group', 'User']);
    const user = await app.scim('GET', '/ResourceTypes/User');
    expect(user.body.schemaExtensions).toEqual([{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }]);
    const schemas = await app.scim('GET', '/Schemas');
    expect(schemas.body.Resources.map((s: any) => s.id)).toContain('urn:ietf:params:scim:schemas:core:2.0:Group');
  });

  it('an unknown endpoint is a SCIM 404 and Bulk is 501', async () => {
    expect((await app.scim('GET', '/Widgets')).body).toMatchObject({ status: '404' });
    expect((await app.scim('POST', '/Bulk', { body: {} })).status).toBe(501);
  });
});
