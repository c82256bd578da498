// `provisioner login`'s logic without an IdP: the RFC 8628 polling state machine, the token order
// of the deciding commands, the credentials file, and discovery's checks.
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFile, readLogin, removeLogin, saveLogin, type StoredLogin } from '../../cli/login/credentials.js';
import { discoverForLogin, loginHttp } from '../../cli/login/discovery.js';
import { initialPollState, nextPoll, type PollState } from '../../cli/login/device-flow.js';
import { chooseToken, loginRecord, loginSettings, REFRESH_BEFORE_MS, storedLoginToken } from '../../cli/login/token-source.js';
import { explicitApiToken } from '../../cli/api-client.js';
import { formatWhoAmI, whoAmI } from '../../cli/commands/login.js';
import { loadConfig } from '../../schemas/config.js';

const NOW = Date.parse('2030-01-01T10:00:00Z');
const jwt = (claims: Record<string, unknown>) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const ACCESS = jwt({ sub: 'E1001', employee_id: 'E1001', groups: ['provisioner-approvers'], aud: 'provisioner-api', exp: NOW / 1000 + 600 });
const state = (over: Partial<PollState> = {}): PollState => ({ intervalSeconds: 5, deadline: NOW + 600_000, pendingSeen: false, ...over });
const oauthError = (error: string, status = 400) => ({ status, json: { error, error_description: `because ${error}` } });
const login = (over: Partial<StoredLogin> = {}): StoredLogin => ({
  clientId: 'provisioner-cli', tokenEndpoint: 'http://127.0.0.1:9470/token', accessToken: ACCESS, refreshToken: 'refresh-secret',
  expiresAt: new Date(NOW + 600_000).toISOString(), obtainedAt: new Date(NOW).toISOString(), ...over,
});
const tempFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'creds-')), 'provisioner', 'credentials.json');

describe('the device flow poll (RFC 8628 §3.5)', () => {
  it('keeps the interval while the sign-in is pending, and says so once', () => {
    const first = nextPoll(state(), oauthError('authorization_pending'), NOW);
    expect(first).toMatchObject({ kind: 'wait', state: { intervalSeconds: 5, pendingSeen: true }, line: 'login: waiting for you to sign in in the browser...' });
    const second = nextPoll((first as { state: PollState }).state, oauthError('authorization_pending'), NOW);
    expect(second).toEqual({ kind: 'wait', state: state({ pendingSeen: true }) });
  });

  it('slows down by 5 s on slow_down, each time', () => {
    const once = nextPoll(state(), oauthError('slow_down'), NOW);
    expect(once).toMatchObject({ kind: 'wait', state: { intervalSeconds: 10 }, line: expect.stringMatching(/every 10 s/) });
    expect(nextPoll((once as { state: PollState }).state, oauthError('slow_down'), NOW)).toMatchObject({ state: { intervalSeconds: 15 } });
  });

  it('ends with a clear line on access_denied and expired_token, and past the deadline', () => {
    expect(nextPoll(state(), oauthError('access_denied'), NOW)).toEqual({ kind: 'failed', message: 'login: the sign-in was refused in the browser (access_denied) (because access_denied); run `provisioner login` to try again' });
    expect(nextPoll(state(), oauthError('expired_token'), NOW)).toMatchObject({ kind: 'failed', message: expect.stringMatching(/code expired before the sign-in finished \(expired_token\); run `provisioner login` again/) });
    expect(nextPoll(state({ deadline: NOW - 1 }), oauthError('authorization_pending'), NOW)).toMatchObject({ kind: 'failed', message: expect.stringMatching(/expired/) });
    expect(nextPoll(state(), oauthError('invalid_client', 401), NOW)).toMatchObject({ kind: 'failed', message: 'login: the IdP refused the device code: invalid_client (because invalid_client)' });
  });

  it('backs off while the IdP cannot be reached, and keeps polling on a 5xx without an OAuth error', () => {
    expect(nextPoll(state(), { unreachable: 'connection failed' }, NOW)).toMatchObject({ kind: 'wait', state: { intervalSeconds: 10 } });
    expect(nextPoll(state({ intervalSeconds: 40 }), { unreachable: 'x' }, NOW)).toMatchObject({ state: { intervalSeconds: 60 } });
    expect(nextPoll(state(), { status: 503, json: undefined }, NOW)).toMatchObject({ kind: 'wait', state: { intervalSeconds: 5 } });
  });

  it('returns the tokens of a 200, and refuses a token answer that is not a Bearer token', () => {
    expect(nextPoll(state(), { status: 200, json: { access_token: ACCESS, token_type: 'Bearer', expires_in: 600, refresh_token: 'r' } }, NOW)).toMatchObject({ kind: 'done', tokens: { expires_in: 600 } });
    expect(nextPoll(state(), { status: 200, json: { access_token: ACCESS, token_type: 'DPoP' } }, NOW)).toMatchObject({ kind: 'failed', message: expect.stringMatching(/expected token_type Bearer/) });
  });

  it('starts at the interval the IdP gave, 5 s when it gave none, until the code expires', () => {
    const device = { device_code: 'd', user_code: 'U', verification_uri: 'v', expires_in: 600 };
    expect(initialPollState({ ...device, interval: 7 }, NOW)).toEqual({ intervalSeconds: 7, deadline: NOW + 600_000, pendingSeen: false });
    expect(initialPollState(device, NOW).intervalSeconds).toBe(5);
  });
});

describe("the deciding commands' token order", () => {
  it('--token-file, then PROVISIONER_API_TOKEN, then the stored login', () => {
    expect(chooseToken({ tokenFile: '/t', envToken: 'a.b.c', stored: login(), now: NOW })).toEqual({ kind: 'file', file: '/t' });
    expect(chooseToken({ envToken: 'a.b.c', stored: login(), now: NOW })).toEqual({ kind: 'env' });
    expect(chooseToken({ envToken: '  ', stored: login(), now: NOW })).toMatchObject({ kind: 'stored', refresh: false });
    expect(chooseToken({ now: NOW })).toEqual({ kind: 'none', why: 'not-signed-in' });
  });

  it('refreshes a stored token within a minute of its expiry, and without a refresh token asks for a login', () => {
    const near = new Date(NOW + REFRESH_BEFORE_MS - 1).toISOString();
    expect(chooseToken({ stored: login({ expiresAt: near }), now: NOW })).toMatchObject({ kind: 'stored', refresh: true });
    expect(chooseToken({ stored: login({ expiresAt: near, refreshToken: undefined }), now: NOW })).toEqual({ kind: 'none', why: 'expired' });
  });

  it('an explicit token wins over the stored login, and without any the error says `provisioner login`', async () => {
    expect(explicitApiToken({ token: 'a.b.c' })).toBe('a.b.c');
    expect(explicitApiToken({})).toBeUndefined();
    const cfg = loadConfig({ env: {} });
    await expect(storedLoginToken(cfg, { file: tempFile(), now: () => NOW })).rejects.toThrow(/you are not signed in to http:\/\/127\.0\.0\.1:9470; run `provisioner login`, or set PROVISIONER_API_TOKEN/);
    const production = loadConfig({ env: { PROVISIONER_MODE: 'production' } });
    await expect(storedLoginToken(production, { file: tempFile() })).rejects.toThrow(/set api\.oidc\.issuer \(PROVISIONER_OIDC_ISSUER\)/);
  });

  it('the stored login of the configured issuer is used as it is while fresh', async () => {
    const file = tempFile();
    saveLogin('https://idp.example.com/', login(), file);
    const cfg = loadConfig({ env: { PROVISIONER_OIDC_ISSUER: 'https://idp.example.com' } });
    expect(await storedLoginToken(cfg, { file, now: () => NOW })).toBe(ACCESS);
  });
});

describe('the IdP settings', () => {
  it('api.oidc from the environment; in development mode without it, the local development IdP', () => {
    const cfg = loadConfig({ env: { PROVISIONER_OIDC_ISSUER: 'https://idp.example.com/', PROVISIONER_OIDC_AUDIENCE: 'api://provisioner' } });
    // The issuer as configured: discovery matches it exactly, as the API does.
    expect(loginSettings(cfg)).toEqual({ issuer: 'https://idp.example.com/', clientId: 'provisioner-cli', audience: 'api://provisioner', developmentIdp: false });
    expect(loginSettings(loadConfig({ env: { PROVISIONER_IDP_PORT: '9555' } }))).toEqual({ issuer: 'http://127.0.0.1:9555', clientId: 'provisioner-cli', developmentIdp: true });
    expect(() => loadConfig({ env: { PROVISIONER_OIDC_ISSUER: 'http://idp.example.com' } })).toThrow(/expected an https:\/\/ issuer URL .* at api\.oidc\.issuer \(set by PROVISIONER_OIDC_ISSUER\)/);
  });
});

describe('the credentials file', () => {
  it('lives in XDG_CONFIG_HOME, else ~/.config', () => {
    expect(credentialsFile({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/provisioner/credentials.json');
    expect(credentialsFile({})).toMatch(/\/\.config\/provisioner\/credentials\.json$/);
  });

  it('is written 0600 in a 0700 folder, keyed by issuer, and removed with its last entry', () => {
    const file = tempFile();
    saveLogin('http://127.0.0.1:9470', login(), file);
    saveLogin('https://idp.example.com', login({ clientId: 'other' }), file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readLogin('http://127.0.0.1:9470/', file)?.clientId).toBe('provisioner-cli');
    expect(removeLogin('https://idp.example.com', file)?.clientId).toBe('other');
    expect(readLogin('https://idp.example.com', file)).toBeUndefined();
    removeLogin('http://127.0.0.1:9470', file);
    expect(() => statSync(file)).toThrow(/ENOENT/);
  });

  it('is refused when others can read it', () => {
    const file = tempFile();
    saveLogin('http://127.0.0.1:9470', login(), file);
    chmodSync(file, 0o644);
    expect(() => readLogin('http://127.0.0.1:9470', file)).toThrow(/readable by others \(mode 644\); run `chmod 600/);
  });

  it('records the expiry from expires_in, else the token exp, and keeps the refresh token when a refresh returns none', () => {
    const idp = { token_endpoint: 'http://127.0.0.1:9470/token' };
    expect(loginRecord({ access_token: ACCESS, token_type: 'Bearer', expires_in: 30 }, idp, { clientId: 'c' }, NOW).expiresAt).toBe(new Date(NOW + 30_000).toISOString());
    const record = loginRecord({ access_token: ACCESS, token_type: 'Bearer' }, idp, { clientId: 'c' }, NOW, login());
    expect(record.expiresAt).toBe(new Date(NOW + 600_000).toISOString());
    expect(record.refreshToken).toBe('refresh-secret');
  });
});

describe('provisioner whoami', () => {
  it('shows subject, groups, audience and expiry, never the token', () => {
    const text = formatWhoAmI(whoAmI('http://127.0.0.1:9470', login(), NOW, { PROVISIONER_API_TOKEN: 'x.y.z' }));
    expect(text).toContain('subject   E1001');
    expect(text).toContain('groups    provisioner-approvers');
    expect(text).toContain('audience  provisioner-api');
    expect(text).toContain('PROVISIONER_API_TOKEN is set');
    expect(text).not.toContain(ACCESS);
    expect(text).not.toContain('refresh-secret');
    expect(formatWhoAmI(whoAmI('i', login({ expiresAt: new Date(NOW - 1).toISOString() }), NOW, {}))).toMatch(/expired; renewed on the next call/);
  });
});

describe('discovery (the API\'s client, api/oidc-discovery.ts)', () => {
  const answer = (body: unknown) => ({ get: async () => (typeof body === 'string' ? body : JSON.stringify(body)) });
  const doc = { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', token_endpoint: 'https://idp.example.com/token', device_authorization_endpoint: 'https://idp.example.com/device/auth' };

  it('takes a document that names the configured issuer exactly, with its token endpoint', async () => {
    expect(await discoverForLogin('https://idp.example.com', answer(doc))).toMatchObject({ token_endpoint: 'https://idp.example.com/token', device_authorization_endpoint: 'https://idp.example.com/device/auth' });
  });

  it('refuses another issuer (even one differing by a slash), a plain-http endpoint elsewhere, and no token endpoint', async () => {
    await expect(discoverForLogin('https://idp.example.com', answer({ ...doc, issuer: 'https://evil.example.com' }))).rejects.toThrow(/names the issuer "https:\/\/evil\.example\.com", not the configured "https:\/\/idp\.example\.com"; set PROVISIONER_OIDC_ISSUER/);
    await expect(discoverForLogin('https://idp.example.com/', answer(doc))).rejects.toThrow(/names the issuer "https:\/\/idp\.example\.com", not the configured "https:\/\/idp\.example\.com\/"/);
    await expect(discoverForLogin('https://idp.example.com', answer({ ...doc, token_endpoint: 'http://idp.example.com/token' }))).rejects.toThrow(/token_endpoint: expected an https:\/\/ URL .*; check api\.oidc\.issuer \(PROVISIONER_OIDC_ISSUER\)$/);
    await expect(discoverForLogin('https://idp.example.com', answer({ ...doc, token_endpoint: undefined }))).rejects.toThrow(/names no token_endpoint/);
  });

  it('over HTTP: a bad status and an answer past the bound are one line naming the URL', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/big/.well-known/openid-configuration') return res.end(`{"issuer":"${'x'.repeat(600_000)}"}`);
      res.statusCode = 404;
      res.end('nope');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = loginHttp({});
    try {
      await expect(discoverForLogin(base, http)).rejects.toThrow(`oidc: ${base}/.well-known/openid-configuration answered HTTP 404; check api.oidc.issuer (PROVISIONER_OIDC_ISSUER)`);
      await expect(discoverForLogin(`${base}/big`, http)).rejects.toThrow(/it answered more than 524288 bytes/);
    } finally {
      await http.close();
      server.close();
    }
  });
});
