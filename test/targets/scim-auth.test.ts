// Client authentication over real HTTP: static bearer tokens (RFC 6750), OAuth 2.0 client
// credentials (RFC 6749 §4.4), 401 answers in SCIM format, the separate admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_SCHEMA, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let clock = Date.now();
let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp({ name: 'auth-app', now: () => clock, oauth: { clientId: 'provisioner', clientSecret: 'client-secret-123', tokenTtlSeconds: 600 } });
});
afterAll(async () => {
  await app.close();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function requestToken(init: { body: Record<string, string>; authorization?: string }) {
  const res = await fetch(app.oauth.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(init.authorization ? { authorization: init.authorization } : {}) },
    body: form(init.body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('bearer tokens', () => {
  it('the configured bearer token is accepted', async () => {
    expect((await app.scim('GET', '/Users')).status).toBe(200);
  });

  it('no token is a 401 in SCIM error format with a Bearer challenge', async () => {
    const res = await app.scim('GET', '/Users', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="auth-app"');
  });

  it('a wrong token is a 401 with error="invalid_token", and writes are refused too', async () => {
    const res = await app.scim('POST', '/Users', { token: 'not-the-token', body: userBody('mallory') });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await app.scim('GET', `/Users?filter=${encodeURIComponent('userName eq "mallory"')}`)).body.totalResults).toBe(0);
  });

  it('the admin token is not a SCIM token, and the SCIM token is not an admin token', async () => {
    expect((await app.scim('GET', '/Users', { token: app.adminToken })).status).toBe(401);
    const admin = await fetch(`${app.url}/admin/faults`, { headers: { authorization: `Bearer ${app.bearerToken}` } });
    expect(admin.status).toBe(401);
  });

  it('/health answers without a token', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', app: 'auth-app', pid: process.pid });
  });
});

describe('OAuth 2.0 client credentials', () => {
  it('client_id and client_secret in the form body get a Bearer token that the SCIM API accepts', async () => {
    const res = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 });
    expect((await app.scim('GET', '/Users', { token: res.body.access_token })).status).toBe(200);
  });

  it('HTTP Basic client authentication works as well', async () => {
    const res = await requestToken({ body: { grant_type: 'client_credentials' }, authorization: basic('provisioner', 'client-secret-123') });
    expect(res.status).toBe(200);
    expect((await app.scim('POST', '/Users', { token: res.body.access_token, body: userBody('oauth-user') })).status).toBe(201);
  });

  it('an issued token is accepted until it expires, then it is a 401', async () => {
    const { body } = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    clock += 599_000;
    expect((await app.scim('GET', '/Users', { token: body.access_token })).status).toBe(200);
    clock += 2_000;
    const expired = await app.scim('GET', '/Users', { token: body.access_token });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('a tampered token is a 401', async () => {
    const { body } = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    const [payload, signature] = (body.access_token as string).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'provisioner', exp: clock + 10 ** 9 })).toString('base64url');
    expect((await app.scim('GET', '/Users', { token: `${forged}.${signature}` })).status).toBe(401);
    expect((await app.scim('GET', '/Users', { token: `${payload}.${signature}x` })).status).toBe(401);
  });

  it('a wrong secret is 401 invalid_client; an unknown grant type is 400 unsupported_grant_type', async () => {
    const wrong = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'guess' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const wrongBasic = await requestToken({ body: { grant_type: 'client_credentials' }, authorization: basic('provisioner', 'guess') });
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.headers.get('www-authenticate')).toMatch(/^Basic/);
    const grant = await requestToken({ body: { grant_type: 'password', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
    const missing = await requestToken({ body: { client_id: 'provisioner', client_secret: 'client-secret-123' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
  });

  it('issued tokens stay valid when the app restarts with the same client credentials', async () => {
    const { body } = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    const { logger: _logger, port: _port, ...options } = app.options;
    const restarted = await startTestScimApp(options);
    try {
      expect((await restarted.scim('GET', '/Users', { token: body.access_token })).status).toBe(200);
      const other = await startTestScimApp({ ...options, oauth: { clientId: 'provisioner', clientSecret: 'rotated-secret-456' } });
      try {
        expect((await other.scim('GET', '/Users', { token: body.access_token })).status).toBe(401);
      } finally {
        await other.close();
      }
    } finally {
      await restarted.close();
    }
  });
});

describe('secrets in logs', () => {
  it('no token or secret appears in anything the app logged', async () => {
    await app.scim('GET', '/Users', { token: 'wrong-token-value' });
    const { body } = await requestToken({ body: { grant_type: 'client_credentials', client_id: 'provisioner', client_secret: 'client-secret-123' } });
    await app.scim('GET', '/Users', { token: body.access_token });
    const logged = JSON.stringify(app.logs);
    expect(app.logs.length).toBeGreaterThan(5);
    for (const secret of [app.bearerToken, app.adminToken, 'client-secret-123', body.access_token as string, 'wrong-token-value']) {
      expect(logged).not.toContain(secret);
    }
  });
});
