// An OpenID provider behind HTTPS with a private CA (api.oidc.caFile): a real oidc-provider (the
// development IdP's configuration) served over TLS with a throwaway CA's certificate. The API's
// verifier reads its discovery document and keys through that CA only; without the CA, or with
// another, the provider is unavailable (503, with what to set), never a refused token.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Provider from 'oidc-provider';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcVerifier, type OidcSettings } from '../../api/oidc.js';
import { IdpUnavailableError } from '../../api/oidc-discovery.js';
import { loadConfig } from '../../schemas/config.js';
import { devIdpConfiguration } from '../../stack/dev-idp/config.js';
import { ensureSigningKeys } from '../../stack/dev-idp/keys.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';

let pki: TestPki;
let otherPki: TestPki;
let server: Server;
let issuer: string;
let keys: ReturnType<typeof ensureSigningKeys>['jwks'];

beforeAll(async () => {
  pki = createTestPki('Provisioner IdP Test CA');
  otherPki = createTestPki('Another Test CA');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'oidc-tls-idp-'));
  keys = ensureSigningKeys(dataDir).jwks;
  let serve: Parameters<typeof createServer>[1] = (_req, res) => void res.writeHead(503).end();
  server = createServer({ cert: pki.cert, key: pki.key }, (req, res) => serve!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, devIdpConfiguration({
    people: [{ employeeId: 'E7001', name: 'Tess Tls', email: 'tess@example.com', password: 'dev-tess', groups: ['provisioner-operators'] }],
    jwks: keys,
    cookieKey: 'a-cookie-key-for-the-tls-test-only',
    accessTokenTtlSeconds: 600,
    defaultAudience: 'provisioner-api',
    temporalUi: { secret: 'not-used-here', redirectUris: ['http://127.0.0.1:8233/auth/sso/callback'] },
  }));
  serve = provider.callback();
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  pki?.remove();
  otherPki?.remove();
});

const settingsWith = (caFile?: string): OidcSettings =>
  loadConfig({
    env: {
      PROVISIONER_OIDC_ISSUER: issuer,
      PROVISIONER_OIDC_AUDIENCE: 'provisioner-api',
      PROVISIONER_OIDC_ROLE_MAP: '{"provisioner-operators":["operator"]}',
      ...(caFile ? { PROVISIONER_OIDC_CA_FILE: caFile } : {}),
    },
  }).api.oidc as OidcSettings;

/** A token as the provider signs it, with its RS256 key. */
async function providerToken(): Promise<string> {
  const rsa = keys.keys.find((k) => k.alg === 'RS256')!;
  return new SignJWT({ employee_id: 'E7001', groups: ['provisioner-operators'] })
    .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, typ: 'at+jwt' })
    .setIssuer(issuer).setAudience('provisioner-api').setSubject('E7001').setIssuedAt().setExpirationTime('5m')
    .sign(await importJWK(rsa, 'RS256'));
}

describe('an identity provider whose HTTPS certificate a private CA issued', () => {
  it('is read through api.oidc.caFile: discovery and keys over TLS, and its tokens verify', async () => {
    const verifier = createOidcVerifier(settingsWith(pki.caFile));
    try {
      await verifier.warm();
      expect(await verifier.verify(await providerToken())).toEqual({ employeeId: 'E7001', roles: ['operator'] });
    } finally {
      await verifier.close();
    }
  });

  it('without the CA, or with another, is unavailable with what to set, not a refused token', async () => {
    for (const [caFile, hint] of [[undefined, /set PROVISIONER_OIDC_CA_FILE \(api\.oidc\.caFile\)/], [otherPki.caFile, /give the CA that issued it in api\.oidc\.caFile/]] as const) {
      const verifier = createOidcVerifier(settingsWith(caFile));
      try {
        const err = await verifier.verify(await providerToken()).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(IdpUnavailableError);
        expect((err as Error).message).toMatch(new RegExp(`^oidc: ${issuer.replace(/[.]/g, '\\.')}/\\.well-known/openid-configuration: its TLS certificate could not be verified \\(\\w+\\)`));
        expect((err as Error).message).toMatch(hint);
      } finally {
        await verifier.close();
      }
    }
  });
});
