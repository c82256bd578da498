// Where the target app follows RFC 7643/7644 beyond what scimmy gives it: 405 with Allow, schemas
// in every representation, POST /.search at the root, PATCH of a whole extension, request shapes
// answered with SCIM errors a client can read, canonical values only where the schema lists some.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientDetail } from '../../targets/engine-errors.js';
import { ERROR_SCHEMA, GROUP_SCHEMA, groupBody, patchOp, startTestScimApp, USER_SCHEMA, userBody, type TestScimApp } from '../helpers/scim-app.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp();
});
afterAll(() => app.close());
beforeEach(() => app.admin.reset());

const createUser = async (userName: string, extra: Record<string, unknown> = {}) => (await app.scim('POST', '/Users', { body: userBody(userName, extra) })).body.id as string;
const createGroup = async (displayName: string) => (await app.scim('POST', '/Groups', { body: groupBody(displayName) })).body.id as string;

describe('a method an endpoint does not support', () => {
  it.each([
    ['POST', '/ServiceProviderConfig', 'GET, HEAD'],
    ['DELETE', '/Schemas', 'GET, HEAD'],
    ['PUT', '/ResourceTypes/User', 'GET, HEAD'],
    ['DELETE', '/Users', 'GET, POST, HEAD'],
    ['GET', '/Users/.search', 'POST'],
    ['GET', '/.search', 'POST'],
  ])('%s %s is a 405 with Allow: %s and a SCIM error body', async (method, path, allow) => {
    const res = await app.scim(method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '405' });
  });

  it('POST on a user is a 405 naming the methods a user takes', async () => {
    const id = await createUser('alice');
    const res = await app.scim('POST', `/Users/${id}`, { body: userBody('alice') });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PUT, PATCH, DELETE, HEAD');
  });
});

describe('schemas in every representation (RFC 7643 §3)', () => {
  it('a group read with attributes= still names its schema', async () => {
    const id = await createGroup('staff');
    const res = await app.scim('GET', `/Groups/${id}?attributes=displayName`);
    expect(res.body).toEqual({ schemas: [GROUP_SCHEMA], id, displayName: 'staff' });
  });

  it('a list with attributes= names the schema of every resource', async () => {
    await createUser('alice');
    const res = await app.scim('GET', '/Users?attributes=userName');
    expect(res.body.Resources).toEqual([{ schemas: [USER_SCHEMA], id: expect.any(String), userName: 'alice' }]);
  });

  it('an extension attribute asked for by its URN is answered, not a 400 with a JavaScript error', async () => {
    const id = await createUser('alice', { [ENTERPRISE]: { employeeNumber: '7', department: 'Sales' } });
    const res = await app.scim('GET', `/Users/${id}?attributes=${ENTERPRISE}:employeeNumber`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: [USER_SCHEMA, ENTERPRISE], id, [ENTERPRISE]: { employeeNumber: '7' } });
  });
});

describe('canonical values (RFC 7643 §7: suggested values)', () => {
  it('any roles.type is accepted: the schema lists no canonical values for it', async () => {
    const res = await app.scim('POST', '/Users', { body: userBody('alice', { roles: [{ value: 'admin', type: 'break-glass' }] }) });
    expect(res.status).toBe(201);
    expect(res.body.roles).toEqual([{ value: 'admin', type: 'break-glass' }]);
  });

  it('an emails.type outside the listed canonical values is still a 400 invalidValue', async () => {
    const res = await app.scim('POST', '/Users', { body: userBody('alice', { emails: [{ value: 'a@example.com', type: 'pigeon' }] }) });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });
});

describe('POST /.search at the root (RFC 7644 §3.4.3)', () => {
  it('searches users and groups as one list, sorted and paged', async () => {
    await createUser('carol', { displayName: 'Carol' });
    await createGroup('Admins');
    await createUser('bob', { displayName: 'Bob' });
    await createGroup('Zebras');
    const body = { schemas: [SEARCH], filter: 'displayName pr', sortBy: 'displayName', startIndex: 2, count: 2, attributes: ['displayName'] };
    const res = await app.scim('POST', '/.search', { body });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
    expect(res.body.Resources).toEqual([
      { schemas: [USER_SCHEMA], id: expect.any(String), displayName: 'Bob' },
      { schemas: [USER_SCHEMA], id: expect.any(String), displayName: 'Carol' },
    ]);
  });

  it('a filter only one resource type can match finds that type only', async () => {
    await createUser('alice');
    await createGroup('staff');
    const res = await app.scim('POST', '/.search', { body: { schemas: [SEARCH], filter: 'userName eq "alice"' } });
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0]).toMatchObject({ userName: 'alice', meta: { resourceType: 'User' } });
  });

  it('a body that is not a SearchRequest is a 400 invalidSyntax', async () => {
    const res = await app.scim('POST', '/.search', { body: { filter: 'userName eq "alice"' } });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });
});

describe('PATCH of a whole extension (RFC 7644 §3.5.2 with the extension URN as path)', () => {
  it('add, replace and remove change the extension, a schemas member in the value is ignored', async () => {
    const id = await createUser('alice');
    const read = async () => (await app.scim('GET', `/Users/${id}`)).body;

    const added = await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'add', path: ENTERPRISE, value: { schemas: [ENTERPRISE], employeeNumber: '7' } }) });
    expect(added.status).toBe(204);
    expect((await read())[ENTERPRISE]).toEqual({ employeeNumber: '7' });

    await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: ENTERPRISE, value: { department: 'Sales' } }) });
    expect((await read())[ENTERPRISE]).toEqual({ employeeNumber: '7', department: 'Sales' }); // §3.5.2.3: unnamed sub-attributes stay

    const removed = await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'remove', path: ENTERPRISE }) });
    expect(removed.status).toBe(204);
    const after = await read();
    expect(after[ENTERPRISE]).toBeUndefined();
    expect(after.schemas).toEqual([USER_SCHEMA]);
  });
});

describe('request shapes scimmy assumed: SCIM errors a client can act on, never a 500', () => {
  it('a null operation and a no-path replace without an object are a 400 invalidSyntax', async () => {
    const id = await createUser('alice');
    for (const operation of [null, { op: 'replace', value: null }, { op: 'add', value: 'x' }]) {
      const res = await app.scim('PATCH', `/Users/${id}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [operation] } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidSyntax' });
      expect(res.body.detail).toMatch(/^PatchOp request body: .*Operations\[0\]/);
    }
  });

  it('a null inside a list is a 400 invalidValue naming where, and is not stored', async () => {
    const created = await app.scim('POST', '/Users', { body: userBody('alice', { emails: [null] }) });
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ scimType: 'invalidValue', detail: expect.stringMatching(/^emails\[0\] is null/) });
    const id = await createUser('bob');
    const patched = await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'add', path: 'emails', value: [null] }) });
    expect(patched.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('a sub-attribute filter finds the match when other resources lack the attribute', async () => {
    await createUser('alice', { emails: [{ value: 'alice@example.com', type: 'work' }], name: { givenName: 'Alice' } });
    await createUser('bob');
    for (const expression of ['emails[value eq "ALICE@example.com"]', 'emails.value eq "alice@example.com"', 'name.givenName eq "alice"']) {
      const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(expression)}`);
      expect(res.status, expression).toBe(200);
      expect(res.body.Resources.map((u: { userName: string }) => u.userName), expression).toEqual(['alice']);
    }
  });

  it('a JavaScript engine message in a scimmy error is replaced, keeping which PatchOp operation failed', () => {
    expect(clientDetail("Cannot convert undefined or null to object for 'remove' op of operation 2 in PatchOp request body")).toEqual({
      detail: "the request does not fit the schema of this resource (RFC 7643 §2, §4) for 'remove' op of operation 2 in PatchOp request body",
      engineMessage: true,
    });
    expect(clientDetail("Attribute 'emails' expected to be a collection")).toEqual({ detail: "Attribute 'emails' expected to be a collection", engineMessage: false });
  });
});
