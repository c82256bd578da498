// The behaviour profiles (targets/profiles.ts) over real HTTP: each behaviour as a client meets it,
// and what every profile shares (a group deleted and recreated answers 404 on its old id).
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { behaviourOf, profileNames, type ProfileName } from '../../targets/profiles.js';
import { startScimApp } from '../../targets/server.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { ERROR_SCHEMA, groupBody, patchOp, scimRequest, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

async function memberOf(app: TestScimApp): Promise<{ group: string; user: string }> {
  const user = (await app.scim('POST', '/Users', { body: userBody(`member-${Math.random().toString(36).slice(2)}`) })).body.id as string;
  const group = await app.scim('POST', '/Groups', { body: groupBody(`group-${Math.random().toString(36).slice(2)}`, { members: [{ value: user }] }) });
  expect(group.status).toBe(201);
  return { group: group.body.id as string, user };
}

/** An app of `profile` for the tests of the enclosing describe. */
function appOf(profile: ProfileName): () => TestScimApp {
  let app: TestScimApp | undefined;
  beforeAll(async () => {
    app = await startTestScimApp({ behaviour: behaviourOf(profile) });
  });
  afterAll(() => app?.close());
  return () => app!;
}

/** Runs `check` against a fresh app of `profile`, then stops it. */
async function withApp(profile: ProfileName, check: (app: TestScimApp) => Promise<void>): Promise<void> {
  const app = await startTestScimApp({ behaviour: behaviourOf(profile) });
  try {
    await check(app);
  } finally {
    await app.close();
  }
}

describe('memberPatch: filter-only', () => {
  const app = appOf('filter-members');

  it('a members remove with a value list is 400 invalidPath, saying which form works, and removes nothing', async () => {
    const { group, user } = await memberOf(app());
    const res = await app().scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: 'members', value: [{ value: user }] }) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidPath' });
    expect(res.body.detail).toMatch(/only by a filtered path, e\.g\. members\[value eq "<id>"\]/);
    expect((await app().scim('GET', `/Groups/${group}`)).body.members.map((m: { value: string }) => m.value)).toEqual([user]);
  });

  it('the same removal through members[value eq "<id>"] applies; adds are as ever', async () => {
    const { group, user } = await memberOf(app());
    const removed = await app().scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: `members[value eq "${user}"]` }) });
    expect(removed.status).toBe(204);
    expect((await app().scim('GET', `/Groups/${group}`)).body.members).toBeUndefined();
    expect((await app().scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: user }] }) })).status).toBe(204);
  });

  it('the standard profile takes the value-list form too', () =>
    withApp('standard', async (standard) => {
      const { group, user } = await memberOf(standard);
      expect((await standard.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: 'members', value: [{ value: user }] }) })).status).toBe(204);
    }));
});

describe('etags: false', () => {
  const app = appOf('no-etags');

  it('no meta.version and no ETag header on any answer', async () => {
    const created = await app().scim('POST', '/Users', { body: userBody('no.version') });
    expect(created.status).toBe(201);
    expect(created.body.meta).toMatchObject({ resourceType: 'User' });
    expect(created.body.meta).not.toHaveProperty('version');
    const id = created.body.id as string;
    const answers = [
      created,
      await app().scim('GET', `/Users/${id}`),
      await app().scim('PUT', `/Users/${id}`, { body: userBody('no.version', { title: 'Engineer' }) }),
      await app().scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'title', value: 'Lead' }) }),
      await app().scim('GET', '/Users'),
    ];
    for (const answer of answers) expect(answer.headers.get('etag')).toBeNull();
    expect(answers[1]!.body.meta).not.toHaveProperty('version');
    expect(answers[4]!.body.Resources[0].meta).not.toHaveProperty('version');
  });

  it('If-Match is ignored: a write naming any version applies', async () => {
    const id = (await app().scim('POST', '/Users', { body: userBody('ignores.if-match') })).body.id as string;
    const put = await app().scim('PUT', `/Users/${id}`, { body: userBody('ignores.if-match', { title: 'x' }), headers: { 'if-match': 'W/"no-such-version"' } });
    expect(put.status).toBe(200);
    const del = await app().scim('DELETE', `/Users/${id}`, { headers: { 'if-match': 'W/"no-such-version"' } });
    expect(del.status).toBe(204);
  });

  it('ServiceProviderConfig says etag.supported: false', async () => {
    expect((await app().scim('GET', '/ServiceProviderConfig')).body.etag).toEqual({ supported: false });
  });
});

describe('userNameCaseExact: true', () => {
  const app = appOf('case-sensitive');

  it('userNames differing only in case are two users, and filters compare userName exactly', async () => {
    expect((await app().scim('POST', '/Users', { body: userBody('Ada.Lovelace', { externalId: 'E-UPPER' }) })).status).toBe(201);
    expect((await app().scim('POST', '/Users', { body: userBody('ada.lovelace', { externalId: 'E-LOWER' }) })).status).toBe(201);
    expect((await app().scim('POST', '/Users', { body: userBody('ada.lovelace') })).status).toBe(409);
    const eq = await app().scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ada.lovelace"')}`);
    expect(eq.body.Resources.map((u: { externalId: string }) => u.externalId)).toEqual(['E-LOWER']);
    const sw = await app().scim('GET', `/Users?filter=${encodeURIComponent('userName sw "Ada"')}`);
    expect(sw.body.Resources.map((u: { externalId: string }) => u.externalId)).toEqual(['E-UPPER']);
    // Other caseExact=false attributes still compare as RFC 7643 says.
    await app().scim('POST', '/Users', { body: userBody('grace', { displayName: 'Grace Hopper' }) });
    const byDisplayName = await app().scim('GET', `/Users?filter=${encodeURIComponent('displayName eq "grace hopper"')}`);
    expect(byDisplayName.body).toMatchObject({ totalResults: 1 });
  });

  it('the standard profile refuses the case-only variant with 409 uniqueness and matches it in filters', () =>
    withApp('standard', async (standard) => {
      expect((await standard.scim('POST', '/Users', { body: userBody('Ada.Lovelace') })).status).toBe(201);
      const variant = await standard.scim('POST', '/Users', { body: userBody('ada.lovelace') });
      expect(variant).toMatchObject({ status: 409, body: { scimType: 'uniqueness' } });
      expect((await standard.scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ADA.LOVELACE"')}`)).body.totalResults).toBe(1);
    }));
});

describe('basePath, over HTTPS with a private CA, without an admin API', () => {
  let pki: TestPki;
  let app: TestScimApp;
  const basePath = '/api/v1/identity/scim';
  beforeAll(async () => {
    pki = createTestPki();
    app = await startTestScimApp({ behaviour: behaviourOf('base-path'), tls: { certFile: pki.certFile, keyFile: pki.keyFile }, trustCa: pki.ca });
  });
  afterAll(async () => {
    await app.close();
    pki.remove();
  });

  it('serves SCIM at https://host:port/<base path> only', async () => {
    expect(app.scimUrl).toBe(`https://127.0.0.1:${app.port}${basePath}`);
    expect((await app.scim('GET', '/ServiceProviderConfig')).status).toBe(200);
    const dispatcher = new Agent({ connect: { ca: pki.ca } });
    try {
      expect((await scimRequest(`${app.url}/scim/v2`, app.bearerToken, 'GET', '/Users', { dispatcher })).status).toBe(404);
    } finally {
      await dispatcher.close();
    }
  });

  it('every location, $ref and discovery document names the base path it was reached under', async () => {
    const user = await app.scim('POST', '/Users', { body: userBody('located') });
    const group = await app.scim('POST', '/Groups', { body: groupBody('located', { members: [{ value: user.body.id }] }) });
    expect(user.headers.get('location')).toBe(`${app.scimUrl}/Users/${user.body.id}`);
    expect(group.body.members[0].$ref).toBe(`${app.scimUrl}/Users/${user.body.id}`);
    const answers = await Promise.all(
      ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas', `/Users/${user.body.id}`, `/Groups/${group.body.id}`, '/Users', '/Groups'].map(
        (p) => app.scim('GET', p),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const text = JSON.stringify(answer.body);
      expect(text).not.toContain('/scim/v2');
      const urls = [...text.matchAll(/"(https?:\/\/[^"]+)"/g)].map((m) => m[1]!).filter((u) => u.includes('127.0.0.1'));
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url.startsWith(`${app.scimUrl}/`)).toBe(true);
    }
    expect(answers[0]!.body.meta.location).toBe(`${app.scimUrl}/ServiceProviderConfig`);
  });

  it('an app started without an admin token answers 404 under /admin', async () => {
    const bare = await startScimApp({ name: 'bare', bearerTokens: ['bearer-token-bare'], port: 0, logger: createLogger({ level: 'silent', name: 'bare' }) });
    try {
      const res = await fetch(`${bare.url}/admin/stats`, { headers: { authorization: 'Bearer bearer-token-bare' } });
      expect(res.status).toBe(404);
      expect((await fetch(`${bare.scimUrl}/ServiceProviderConfig`, { headers: { authorization: 'Bearer bearer-token-bare' } })).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('a group deleted and recreated under a new id', () => {
  for (const profile of profileNames) {
    it(`${profile}: the old id answers 404 to reads and writes, the new one serves the name`, () =>
      withApp(profile, async (app) => {
        const { group: oldId, user } = await memberOf(app);
        const name = (await app.scim('GET', `/Groups/${oldId}`)).body.displayName as string;
        expect((await app.scim('DELETE', `/Groups/${oldId}`)).status).toBe(204);
        const recreated = await app.scim('POST', '/Groups', { body: groupBody(name) });
        expect(recreated.status).toBe(201);
        expect(recreated.body.id).not.toBe(oldId);
        const add = patchOp({ op: 'add', path: 'members', value: [{ value: user }] });
        for (const answer of [await app.scim('GET', `/Groups/${oldId}`), await app.scim('PATCH', `/Groups/${oldId}`, { body: add })]) {
          expect(answer).toMatchObject({ status: 404, body: { schemas: [ERROR_SCHEMA], status: '404' } });
        }
        const byName = await app.scim('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
        expect(byName.body.Resources.map((g: { id: string }) => g.id)).toEqual([recreated.body.id]);
      }));
  }
});
