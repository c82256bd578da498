// Versions and conditional requests (RFC 7644 §3.14) over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
let id: string;
let version: string;

beforeAll(async () => {
  app = await startTestScimApp();
});
afterAll(async () => {
  await app.close();
});
beforeEach(async () => {
  await app.admin.reset();
  const created = await app.scim('POST', '/Users', { body: userBody('alice', { externalId: 'E1' }) });
  id = created.body.id;
  version = created.body.meta.version;
});

describe('versions', () => {
  it('every resource carries a weak meta.version, and answers carry it as ETag', async () => {
    expect(version).toMatch(/^W\/".+"$/);
    const read = await app.scim('GET', `/Users/${id}`);
    expect(read.headers.get('etag')).toBe(version);
    const group = await app.scim('POST', '/Groups', { body: groupBody('G') });
    expect(group.headers.get('etag')).toBe(group.body.meta.version);
    const list = await app.scim('GET', '/Users');
    expect(list.body.Resources[0].meta.version).toBe(version);
  });

  it('each change gives a new version, and a replace that changes nothing keeps it', async () => {
    const changed = await app.scim('PUT', `/Users/${id}`, { body: userBody('alice', { externalId: 'E1', title: 'CEO' }) });
    expect(changed.body.meta.version).not.toBe(version);
    expect(changed.headers.get('etag')).toBe(changed.body.meta.version);
    const same = await app.scim('PUT', `/Users/${id}`, { body: userBody('alice', { externalId: 'E1', title: 'CEO' }) });
    expect(same.body.meta.version).toBe(changed.body.meta.version);
    expect(same.body.meta.lastModified).toBe(changed.body.meta.lastModified);
  });

  it('GET with If-None-Match of the current version is 304 Not Modified', async () => {
    const res = await fetch(`${app.scimUrl}/Users/${id}`, { headers: { authorization: `Bearer ${app.bearerToken}`, 'if-none-match': version } });
    expect(res.status).toBe(304);
  });
});

describe('If-Match', () => {
  const stale = async () => {
    await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'title', value: 'changed by someone else' }) });
    return version;
  };

  it('PUT with a stale If-Match is 412 and changes nothing', async () => {
    const old = await stale();
    const res = await app.scim('PUT', `/Users/${id}`, { body: userBody('alice', { title: 'mine' }), headers: { 'if-match': old } });
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '412' });
    expect((await app.scim('GET', `/Users/${id}`)).body.title).toBe('changed by someone else');
  });

  it('PATCH with a stale If-Match is 412, for users and for group membership', async () => {
    const old = await stale();
    const res = await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'active', value: false }), headers: { 'if-match': old } });
    expect(res.status).toBe(412);
    const group = (await app.scim('POST', '/Groups', { body: groupBody('G') })).body;
    await app.scim('PATCH', `/Groups/${group.id}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: id }] }) });
    const member = await app.scim('PATCH', `/Groups/${group.id}`, {
      body: patchOp({ op: 'remove', path: `members[value eq "${id}"]` }),
      headers: { 'if-match': group.meta.version },
    });
    expect(member.status).toBe(412);
  });

  it('DELETE with a stale If-Match is 412 and the user stays', async () => {
    const old = await stale();
    const res = await app.scim('DELETE', `/Users/${id}`, { headers: { 'if-match': old } });
    expect(res.status).toBe(412);
    expect((await app.scim('GET', `/Users/${id}`)).status).toBe(200);
  });

  it('the current version (weak or strong spelling), a list containing it, or * are accepted', async () => {
    const current = (await app.scim('GET', `/Users/${id}`)).body.meta.version as string;
    const put = await app.scim('PUT', `/Users/${id}`, { body: userBody('alice', { title: 'a' }), headers: { 'if-match': current } });
    expect(put.status).toBe(200);
    const strong = put.body.meta.version.replace(/^W\//, '');
    const patch = await app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'title', value: 'b' }), headers: { 'if-match': `"nope", ${strong}` } });
    expect(patch.status).toBe(204);
    const del = await app.scim('DELETE', `/Users/${id}`, { headers: { 'if-match': '*' } });
    expect(del.status).toBe(204);
  });
});
