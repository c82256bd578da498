// People's tokens from the identity provider (api/oidc.ts, api/verifier.ts), as pure logic: tokens
// signed here with local keys, verified against a local key set or a key set served by a stand-in
// for the provider's HTTP answers; the configuration's refusals; which verifier reads which token.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mintToken, NoRoleError, UnauthenticatedError, type JwtSettings } from '../../api/auth.js';
import { createOidcVerifier, callerFromClaims, type OidcSettings } from '../../api/oidc.js';
import { discover, discoveryUrl, IdpUnavailableError } from '../../api/oidc-discovery.js';
import { apiVerifier, chooseVerifier, developmentIdp } from '../../api/verifier.js';
import { createLogger } from '../../observability/logger.js';
import { ConfigError, loadConfig } from '../../schemas/config.js';
import { freePort } from '../../stack/processes.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-oidc-'));
const ISSUER = 'https://login.example.com/tenant-1';
const AUDIENCE = 'api://provisioner';
const roleMap = JSON.stringify({ 'prov-approvers': ['approver'], 'prov-ops': ['operator', 'auditor'], 'prov-audit': 'auditor' });

const configOf = (env: Record<string, string>) => loadConfig({ env: { PROVISIONER_OIDC_ISSUER: ISSUER, PROVISIONER_OIDC_AUDIENCE: AUDIENCE, PROVISIONER_OIDC_ROLE_MAP: roleMap, ...env }, root });
const settings = configOf({}).api.oidc as OidcSettings;

async function keyPair(kid: string, alg = 'RS256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, jwk, kid, alg };
}
type Key = Awaited<ReturnType<typeof keyPair>>;

const key = await keyPair('idp-key-1');
const otherKey = await keyPair('idp-key-1'); // the same key id, another key: a forger's

/** A token as the provider would sign it; `claims` and `set` override the defaults. */
function sign(k: Key, claims: JWTPayload = {}, set: { iss?: string; aud?: string; exp?: number | string; iat?: number } = {}) {
  const jwt = new SignJWT({ employee_id: 'E1001', groups: ['prov-approvers', 'everyone'], ...claims })
    .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt' })
    .setSubject('00u1abcd')
    .setIssuer(set.iss ?? ISSUER)
    .setAudience(set.aud ?? AUDIENCE)
    .setIssuedAt(set.iat)
    .setExpirationTime(set.exp ?? '10m');
  return jwt.sign(k.privateKey);
}

const localVerifier = (s: OidcSettings = settings, keys: JWK[] = [key.jwk]) => createOidcVerifier(s, { keys: createLocalJWKSet({ keys }) }).verify;
const reasonOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof UnauthenticatedError ? err.reason : err instanceof NoRoleError ? 'no-role' : err instanceof IdpUnavailableError ? 'idp-unavailable' : `threw ${(err as Error).message}`),
  );

afterEach(() => void vi.useRealTimers());

describe("a person's token from the identity provider", () => {
  it('names the caller by the employee id claim, with the roles its groups map to', async () => {
    expect(await localVerifier()(await sign(key))).toEqual({ employeeId: 'E1001', roles: ['approver'] });
    expect(await localVerifier()(await sign(key, { groups: ['prov-ops', 'prov-audit'] }))).toEqual({ employeeId: 'E1001', roles: ['auditor', 'operator'] });
  });

  it('is refused when signed by another key, for another audience or issuer, expired, too old, or with no role', async () => {
    const verify = localVerifier();
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    expect(await reasonOf(verify(await sign(otherKey)))).toBe('invalid-token');
    expect(await reasonOf(verify(await sign(key, {}, { aud: 'api://something-else' })))).toBe('wrong-audience');
    expect(await reasonOf(verify(await sign(key, {}, { iss: 'https://evil.example.com' })))).toBe('wrong-issuer');
    expect(await reasonOf(verify(await sign(key, {}, { iat: hourAgo - 60, exp: hourAgo })))).toBe('expired-token');
    const shortLived = { ...settings, maxTokenAgeSeconds: 600 };
    expect(await reasonOf(localVerifier(shortLived)(await sign(key, {}, { iat: hourAgo, exp: '10m' })))).toBe('token-too-old');
    // Refreshed a minute ago, but the person signed in a day ago.
    expect(await reasonOf(localVerifier(shortLived)(await sign(key, { auth_time: hourAgo - 86_400 })))).toBe('token-too-old');
    expect(await reasonOf(verify(await sign(key, { groups: ['everyone'] })))).toBe('no-role');
    expect(await reasonOf(verify(await sign(key, { groups: undefined })))).toBe('no-role');
    expect(await reasonOf(verify(await sign(key, { employee_id: undefined })))).toBe('no-employee-id');
    // An ID token for the API's client id is not an access token: its nonce gives it away (RFC 9068).
    expect(await reasonOf(verify(await sign(key, { nonce: 'n-0S6_WzA2Mj' })))).toBe('id-token');
    expect(await reasonOf(verify(await sign(key, { employee_id: 'E1" or 1=1' })))).toBe('invalid-claims');
  });

  it('is refused when signed with a shared secret or not at all, whatever its claims', async () => {
    const verify = localVerifier();
    const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!');
    const hs = await new SignJWT({ employee_id: 'E1001', groups: ['prov-ops'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(secret);
    expect(await reasonOf(verify(hs))).toBe('invalid-token');
    const [, body] = (await sign(key)).split('.');
    expect(await reasonOf(verify(`${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${body}.`))).toBe('invalid-token');
    // An algorithm the configuration leaves out.
    const es = await keyPair('idp-key-ec', 'ES256');
    expect(await reasonOf(localVerifier({ ...settings, algorithms: ['RS256'] }, [key.jwk, es.jwk])(await sign(es)))).toBe('invalid-token');
    expect(await localVerifier(settings, [key.jwk, es.jwk])(await sign(es))).toEqual({ employeeId: 'E1001', roles: ['approver'] });
  });

  it("reads the claims the configuration names: a dotted path, or a name that holds dots itself", () => {
    const keycloak = { ...settings, employeeIdClaim: 'preferred_username', rolesClaim: 'realm_access.roles' };
    expect(callerFromClaims({ preferred_username: 'e2002', realm_access: { roles: ['prov-ops'] } }, keycloak)).toEqual({ employeeId: 'e2002', roles: ['auditor', 'operator'] });
    const auth0 = { ...settings, rolesClaim: 'https://example.com/groups' };
    expect(callerFromClaims({ employee_id: 'E3', 'https://example.com/groups': 'prov-approvers' }, auth0)).toEqual({ employeeId: 'E3', roles: ['approver'] });
    // Only the token's own claims: a claim name that is an object's property (constructor) reads nothing.
    expect(() => callerFromClaims({ groups: ['prov-audit'] }, { ...settings, employeeIdClaim: 'constructor' })).toThrow(expect.objectContaining({ reason: 'no-employee-id' }));
    expect(() => callerFromClaims({ employee_id: 'E4', realm_access: {} }, { ...settings, rolesClaim: 'realm_access.constructor' })).toThrow(NoRoleError);
    // A number is an id too; a group named like an object's property grants nothing.
    expect(callerFromClaims({ employee_id: 4004, groups: ['prov-audit'] }, settings)).toEqual({ employeeId: '4004', roles: ['auditor'] });
    expect(() => callerFromClaims({ employee_id: 'E5', groups: ['constructor', '__proto__'] }, settings)).toThrow(NoRoleError);
  });
});

describe('the api.oidc configuration', () => {
  const invalid = (env: Record<string, string>) => {
    try {
      configOf(env);
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('has defaults for everything but the issuer and the audience', () => {
    expect(settings).toEqual({
      issuer: ISSUER, audience: AUDIENCE, cliClientId: 'provisioner-cli', maxTokenAgeSeconds: 43_200, clockToleranceSeconds: 30, employeeIdClaim: 'employee_id', rolesClaim: 'groups',
      roleMap: { 'prov-approvers': ['approver'], 'prov-ops': ['operator', 'auditor'], 'prov-audit': ['auditor'] },
    });
    expect(loadConfig({ env: {}, root }).api.oidc).toBeUndefined();
    expect(configOf({ PROVISIONER_OIDC_CA_FILE: 'pki/idp-ca.pem' }).api.oidc!.caFile).toBe(path.join(root, 'pki/idp-ca.pem'));
  });

  it('refuses shared-secret and unsigned algorithms with a reason, and unknown ones', () => {
    expect(invalid({ PROVISIONER_OIDC_ALGORITHMS: 'RS256,HS256' })).toContain('HS256 is not accepted: a shared-secret algorithm lets whoever holds the secret mint any identity');
    expect(invalid({ PROVISIONER_OIDC_ALGORITHMS: 'none' })).toContain('none is not accepted: an unsigned token proves nothing');
    expect(invalid({ PROVISIONER_OIDC_ALGORITHMS: 'RS1' })).toContain('unknown signature algorithm RS1');
    expect(configOf({ PROVISIONER_OIDC_ALGORITHMS: 'ES256, EdDSA' }).api.oidc!.algorithms).toEqual(['ES256', 'EdDSA']);
  });

  it('refuses an issuer or key set reached in clear off this machine, an unknown role, and a role map that is not JSON', () => {
    expect(invalid({ PROVISIONER_OIDC_ISSUER: 'http://login.example.com' })).toContain('expected an https:// issuer URL (http:// only to localhost or 127.0.0.1) at api.oidc.issuer (set by PROVISIONER_OIDC_ISSUER)');
    expect(invalid({ PROVISIONER_OIDC_ISSUER: 'http://127.0.0.1:9400' })).toBe('accepted');
    expect(invalid({ PROVISIONER_OIDC_JWKS_URI: 'http://keys.example.com/jwks' })).toContain('at api.oidc.jwksUri');
    expect(invalid({ PROVISIONER_OIDC_ROLE_MAP: '{"g":["root"]}' })).toContain('api.oidc.roleMap.g');
    expect(invalid({ PROVISIONER_OIDC_ROLE_MAP: 'g=approver' })).toContain('at api.oidc.roleMap (set by PROVISIONER_OIDC_ROLE_MAP)');
    expect(invalid({ PROVISIONER_OIDC_ISSUER: '' , PROVISIONER_OIDC_AUDIENCE: '', PROVISIONER_OIDC_CLI_CLIENT_ID: 'cli' })).toContain('at api.oidc.issuer');
  });
});

/** The provider's HTTP answers, by URL, counting the requests: a stand-in for its GETs (idpHttp is tested against a real provider). */
function provider(answers: Record<string, unknown>) {
  const asked: string[] = [];
  const get = async (url: string) => {
    asked.push(url);
    const answer = answers[url];
    if (answer === undefined) throw new IdpUnavailableError(`oidc: ${url}: connect ECONNREFUSED`);
    return typeof answer === 'string' ? answer : JSON.stringify(answer);
  };
  return { asked, get, answers };
}
const JWKS_URI = 'https://login.example.com/tenant-1/keys';
const metadata = { issuer: ISSUER, jwks_uri: JWKS_URI, authorization_endpoint: 'https://login.example.com/authorize' };

describe('discovery and keys', () => {
  it('reads jwks_uri from the issuer’s metadata, and refuses metadata naming another issuer or a key set in clear', async () => {
    expect(discoveryUrl(`${ISSUER}/`)).toBe(`${ISSUER}/.well-known/openid-configuration`);
    expect(await discover(ISSUER, provider({ [discoveryUrl(ISSUER)]: metadata }).get)).toMatchObject({ jwks_uri: JWKS_URI });
    await expect(discover(ISSUER, provider({ [discoveryUrl(ISSUER)]: { ...metadata, issuer: 'https://evil.example.com' } }).get)).rejects.toThrow(
      /names the issuer "https:\/\/evil.example.com", not the configured "https:\/\/login.example.com\/tenant-1"; set PROVISIONER_OIDC_ISSUER/,
    );
    await expect(discover(ISSUER, provider({ [discoveryUrl(ISSUER)]: { ...metadata, jwks_uri: 'http://keys.example.com' } }).get)).rejects.toThrow(/jwks_uri: expected an https:\/\/ URL/);
    await expect(discover(ISSUER, provider({ [discoveryUrl(ISSUER)]: '<html>' }).get)).rejects.toThrow(/did not answer JSON/);
  });

  it('verifies with the published keys; an unknown key id fetches them again, at most once per cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const idp = provider({ [discoveryUrl(ISSUER)]: metadata, [JWKS_URI]: { keys: [key.jwk] } });
    const { verify } = createOidcVerifier(settings, { get: idp.get });
    expect(await verify(await sign(key))).toMatchObject({ employeeId: 'E1001' });
    expect(await verify(await sign(key))).toMatchObject({ employeeId: 'E1001' });
    expect(idp.asked).toEqual([discoveryUrl(ISSUER), JWKS_URI]);
    // The provider rotates in a new key; within the cooldown a token with its id is refused without asking.
    const rotated = await keyPair('idp-key-2');
    idp.answers[JWKS_URI] = { keys: [key.jwk, rotated.jwk] };
    expect(await reasonOf(verify(await sign(rotated)))).toBe('invalid-token');
    expect(idp.asked).toHaveLength(2);
    vi.setSystemTime(Date.now() + 31_000);
    expect(await verify(await sign(rotated))).toMatchObject({ employeeId: 'E1001' });
    expect(idp.asked).toEqual([discoveryUrl(ISSUER), JWKS_URI, JWKS_URI]);
    // A flood of forged key ids right after: no further request.
    for (const n of [1, 2, 3]) expect(await reasonOf(verify(await sign({ ...otherKey, kid: `forged-${n}` })))).toBe('invalid-token');
    expect(idp.asked).toHaveLength(3);
  });

  it('an unreachable provider is idp-unavailable (not a refusal of the token), answered from memory for a few seconds, then asked again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const idp = provider({});
    const { verify } = createOidcVerifier(settings, { get: idp.get });
    const token = await sign(key);
    expect(await reasonOf(verify(token))).toBe('idp-unavailable');
    expect(await reasonOf(verify(token))).toBe('idp-unavailable');
    expect(idp.asked).toHaveLength(1);
    idp.answers[discoveryUrl(ISSUER)] = metadata;
    idp.answers[JWKS_URI] = 'not json';
    vi.setSystemTime(Date.now() + 6_000);
    expect(await reasonOf(verify(token))).toBe('idp-unavailable');
    idp.answers[JWKS_URI] = { keys: [key.jwk] };
    vi.setSystemTime(Date.now() + 6_000);
    expect(await verify(token)).toMatchObject({ employeeId: 'E1001' });
  });

  it('api.oidc.jwksUri skips discovery', async () => {
    const idp = provider({ [JWKS_URI]: { keys: [key.jwk] } });
    expect(await createOidcVerifier({ ...settings, jwksUri: JWKS_URI }, { get: idp.get }).verify(await sign(key))).toMatchObject({ employeeId: 'E1001' });
    expect(idp.asked).toEqual([JWKS_URI]);
  });
});

describe('which verifier reads a token', () => {
  const dev: JwtSettings = { secret: new TextEncoder().encode('a-development-secret-of-32-bytes!!'), issuer: 'provisioner', audience: 'provisioner-api' };
  const oidc = localVerifier();

  it('development mode: development tokens beside the provider’s', async () => {
    const verify = chooseVerifier({ mode: 'development', oidc, development: dev });
    expect(await verify(await mintToken(dev, { sub: 'E9', roles: ['operator'] }))).toEqual({ employeeId: 'E9', roles: ['operator'] });
    expect(await verify(await sign(key))).toEqual({ employeeId: 'E1001', roles: ['approver'] });
    expect(await reasonOf(verify('not-a-jwt'))).toBe('invalid-token');
  });

  it('production mode: only the provider’s, even with a development secret at hand', async () => {
    const verify = chooseVerifier({ mode: 'production', oidc, development: dev });
    expect(await reasonOf(verify(await mintToken(dev, { sub: 'E9', roles: ['admin'] })))).toBe('development-token');
    expect(await verify(await sign(key))).toEqual({ employeeId: 'E1001', roles: ['approver'] });
  });

  it("from the configuration: development mode without api.oidc trusts the local stack's development IdP beside development tokens; production refuses to start without api.oidc", async () => {
    const logger = createLogger({ level: 'silent' });
    // A port nobody listens on: the development IdP is not running.
    const port = await freePort();
    const cfg = loadConfig({ env: { PROVISIONER_IDP_PORT: String(port), PROVISIONER_API_JWT_SECRET: 'a-development-secret-of-32-bytes!!' }, root });
    expect(developmentIdp(cfg)).toMatchObject({ issuer: `http://127.0.0.1:${port}`, audience: 'provisioner-api', roleMap: { 'provisioner-operators': ['operator'] } });
    const verifier = apiVerifier(cfg, logger);
    try {
      expect(await verifier.verify(await mintToken(dev, { sub: 'E9', roles: ['operator'] }))).toEqual({ employeeId: 'E9', roles: ['operator'] });
      expect(await reasonOf(verifier.verify(await sign(key)))).toBe('idp-unavailable');
    } finally {
      await verifier.close();
    }
    const production = loadConfig({ env: { PROVISIONER_MODE: 'production' }, root });
    expect(() => apiVerifier(production, logger)).toThrow(ConfigError);
    expect(() => apiVerifier(production, logger)).toThrow(/^api: production mode accepts only the identity provider's tokens and api.oidc is not configured; set PROVISIONER_OIDC_ISSUER and PROVISIONER_OIDC_AUDIENCE \(api.oidc\)$/);
    expect(() => apiVerifier({ ...production, api: { ...production.api, oidc: { ...settings, audience: undefined } } }, logger)).toThrow(/api.oidc.audience is not set/);
  });
});
