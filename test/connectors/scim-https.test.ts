// Any base URL (issue 15 item 3): an app's SCIM base is any https://host[:port]/path, or http to a
// loopback host; an app whose certificate a private CA issued is reached by naming that CA in the
// connector config (tls.caFile), for its SCIM and its OAuth token requests alike. Against the real
// target app serving HTTPS under a base path, with a throwaway CA made by openssl.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { callContext, person } from '../../connectors/conformance/harness.js';
import type { AccountRef, Connector, EntitlementCapable } from '../../connectors/contract.js';
import { AuthError } from '../../connectors/errors.js';
import { behaviourOf } from '../../targets/profiles.js';
import { groupBody, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';

const call = () => callContext('scim-https');

describe('the base URL of a SCIM app', () => {
  const config = (baseUrl: string, tokenUrl?: string) => ({
    type: 'scim',
    app: 'crm',
    baseUrl,
    auth: tokenUrl ? { kind: 'oauth2', tokenUrl, clientId: 'prov', clientSecret: { env: 'S' } } : { kind: 'bearer', token: { env: 'T' } },
  });

  it('is any https://host[:port]/path', () => {
    for (const url of ['https://crm.example.com/scim/v2', 'https://idp.example.com:8443/api/v1/identity/scim', 'https://10.1.2.3/scim', 'https://[2001:db8::1]:9443/x']) {
      expect(parseConnectorConfig(config(url)).type).toBe('scim');
    }
  });

  it('is http:// only for loopback hosts: 127.0.0.0/8, ::1, localhost', () => {
    for (const url of ['http://127.0.0.1:8101/scim/v2', 'http://127.8.9.10/scim', 'http://[::1]:8101/scim/v2', 'http://localhost:8101/scim/v2']) {
      expect(parseConnectorConfig(config(url)).type).toBe('scim');
    }
    for (const url of ['http://crm.example.com/scim/v2', 'http://10.0.0.5:8101/scim/v2', 'http://128.0.0.1/scim', 'http://localhost.example.com/scim']) {
      expect(() => parseConnectorConfig(config(url))).toThrow(/http:\/\/ is accepted only for loopback hosts \(127\.0\.0\.0\/8, ::1, localhost\).*use https:\/\//);
    }
  });

  it('carries no credentials, query or fragment, and the token URL follows the same rule', () => {
    expect(() => parseConnectorConfig(config('https://user:pass@crm.example.com/scim'))).toThrow(/must not carry credentials/);
    expect(() => parseConnectorConfig(config('https://crm.example.com/scim?tenant=1'))).toThrow(/query or a fragment/);
    expect(() => parseConnectorConfig(config('ftp://crm.example.com/scim'))).toThrow(/expected an https:\/\/ URL/);
    expect(() => parseConnectorConfig(config('https://crm.example.com/scim', 'http://login.example.com/token'))).toThrow(/loopback[\s\S]*at auth\.tokenUrl/);
    expect(parseConnectorConfig(config('https://crm.example.com/scim', 'https://login.example.com/oauth2/token')).type).toBe('scim');
  });
});

describe('an app serving HTTPS under a base path, with a certificate from a private CA', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let app: TestScimApp;
  let dir: string;

  beforeAll(async () => {
    pki = createTestPki('Acme Private CA');
    otherPki = createTestPki('Some Other CA');
    dir = mkdtempSync(path.join(tmpdir(), 'scim-https-'));
    copyFileSync(pki.caFile, path.join(dir, 'crm-ca.pem'));
    app = await startTestScimApp({ name: 'crm', behaviour: behaviourOf('saas'), tls: { cert: pki.cert, key: pki.key }, trustCa: pki.ca });
    expect(app.scimUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/v1\/identity\/scim$/);
  });

  afterAll(async () => {
    await app?.close();
    pki?.remove();
    otherPki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const oauthConnector = (tls?: { caFile: string }) =>
    createConnector(
      parseConnectorConfig({
        type: 'scim',
        app: 'crm',
        baseUrl: app.scimUrl,
        auth: { kind: 'oauth2', tokenUrl: app.oauth.tokenUrl, clientId: app.oauth.clientId, clientSecret: { env: 'CRM_CLIENT_SECRET' } },
        timeoutMs: 5000,
        ...(tls ? { tls } : {}),
      }),
      { root: dir, env: { CRM_CLIENT_SECRET: app.oauth.clientSecret, CRM_TOKEN: app.bearerToken } },
    ) as Connector & EntitlementCapable;

  it('with tls.caFile: a joiner, a grant, a revoke, a leaver, over OAuth2 client credentials', async () => {
    const connector = oauthConnector({ caFile: 'crm-ca.pem' });
    const group = (await app.scim('POST', '/Groups', { body: groupBody('crm-users') })).body.id as string;
    const created = await connector.ensureAccount(person('E-TLS-1', 'tls.person'), call());
    expect(created.status).toBe('created');
    const account = (created as { account: AccountRef }).account;
    expect(await connector.grant({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
    expect((await app.scim('GET', `/Groups/${group}`)).body.members.map((m: { value: string }) => m.value)).toEqual([account.id]);
    expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
    expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'already-in-state' });
    expect((await app.scim('GET', `/Groups/${group}`)).body.members).toBeUndefined();
    expect(await connector.disableAccount!({ account }, call())).toEqual({ status: 'applied' });
    expect((await connector.getAccount({ employeeId: 'E-TLS-1' }, call()))?.active).toBe(false);
    expect(await connector.deleteAccount!({ account }, call())).toEqual({ status: 'applied' });
    expect(await connector.getAccount({ employeeId: 'E-TLS-1' }, call())).toBeUndefined();
    await connector.close?.();
  });

  it('without the CA: an AuthError that says to give tls.caFile, for the token request and for SCIM, with no secret in it', async () => {
    const oauth = await oauthConnector().ensureAccount(person('E-TLS-2', 'untrusted.one'), call()).catch((e: unknown) => e);
    expect(oauth).toBeInstanceOf(AuthError);
    expect((oauth as AuthError).retryable).toBe(false);
    expect((oauth as Error).message).toMatch(/^crm: OAuth token request to https:\/\/127\.0\.0\.1:\d+\/oauth\/token: the server's TLS certificate could not be verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); if a private CA issued it, give that CA's certificate as tls\.caFile in the app's connector config$/);

    const bearer = createConnector(parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: { env: 'CRM_TOKEN' } } }), { env: { CRM_TOKEN: app.bearerToken } });
    const refused = await bearer.getAccount({ employeeId: 'E-TLS-2' }, call()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as Error).message).toMatch(/^crm: find user by externalId: GET \/Users: the server's TLS certificate could not be verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); .*tls\.caFile/);
    for (const err of [oauth, refused] as Error[]) {
      for (const secret of [app.bearerToken, app.oauth.clientSecret]) expect(`${err.message}\n${err.stack}`).not.toContain(secret);
    }
    expect(await app.scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "E-TLS-2"')}`)).toMatchObject({ body: { Resources: [] } });
  });

  it('a CA file that names another CA is refused as such; replaced by the right one, it is used without a restart', async () => {
    copyFileSync(otherPki.caFile, path.join(dir, 'rotating-ca.pem'));
    const connector = oauthConnector({ caFile: 'rotating-ca.pem' });
    const refused = await connector.getAccount({ employeeId: 'E-TLS-3' }, call()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as Error).message).toContain(`could not be verified against the CA in tls.caFile ${path.join(dir, 'rotating-ca.pem')}`);
    copyFileSync(pki.caFile, path.join(dir, 'rotating-ca.pem'));
    expect((await connector.ensureAccount(person('E-TLS-3', 'rotated.ca'), call())).status).toBe('created');
    await connector.close?.();
  });
});
