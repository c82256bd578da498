import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import {
  UnauthenticatedError, bearerToken, devSecretFile, ensureDevSecret, isAllowed, loadJwtSettings, mintToken, routeRoles, verifyToken, type JwtSettings,
} from '../../api/auth.js';

const settings: JwtSettings = { secret: new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!'), issuer: 'provisioner', audience: 'provisioner-api' };
const reasonOf = async (p: Promise<unknown>) => p.then(() => 'accepted', (err: unknown) => (err instanceof UnauthenticatedError ? err.reason : `threw ${(err as Error).message}`));

describe('API tokens', () => {
  it('a minted token verifies to its subject and roles', async () => {
    const token = await mintToken(settings, { sub: 'E1001', roles: ['operator', 'approver'], ttl: '5m' });
    expect(await verifyToken(settings, token)).toEqual({ employeeId: 'E1001', roles: ['operator', 'approver'] });
  });

  it('refuses an expired token, another secret, issuer or audience, and alg none', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ roles: ['operator'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('E1').setIssuer('provisioner')
      .setAudience('provisioner-api').setIssuedAt(past - 60).setExpirationTime(past).sign(settings.secret);
    expect(await reasonOf(verifyToken(settings, expired))).toBe('expired-token');
    const token = await mintToken(settings, { sub: 'E1', roles: ['operator'] });
    expect(await reasonOf(verifyToken({ ...settings, secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') }, token))).toBe('invalid-token');
    expect(await reasonOf(verifyToken({ ...settings, issuer: 'someone-else' }, token))).toBe('invalid-token');
    expect(await reasonOf(verifyToken({ ...settings, audience: 'another-api' }, token))).toBe('invalid-token');
    const [, body] = token.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${body}.`;
    expect(await reasonOf(verifyToken(settings, unsigned))).toBe('invalid-token');
    expect(await reasonOf(verifyToken(settings, 'not-a-jwt'))).toBe('invalid-token');
  });

  it('refuses unknown roles, a missing sub and an unsafe sub', async () => {
    const sign = (claims: Record<string, unknown>, sub?: string) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('provisioner').setAudience('provisioner-api').setIssuedAt().setExpirationTime('5m');
      return (sub ? jwt.setSubject(sub) : jwt).sign(settings.secret);
    };
    expect(await reasonOf(verifyToken(settings, await sign({ roles: ['superuser'] }, 'E1')))).toBe('invalid-claims');
    expect(await reasonOf(verifyToken(settings, await sign({ roles: [] }, 'E1')))).toBe('invalid-claims');
    expect(await reasonOf(verifyToken(settings, await sign({ roles: ['admin'] })))).toBe('invalid-token');
    expect(await reasonOf(verifyToken(settings, await sign({ roles: ['admin'] }, 'E1" or 1=1')))).toBe('invalid-claims');
  });

  it('refuses to mint with unknown roles or a bad ttl', async () => {
    await expect(mintToken(settings, { sub: 'E1', roles: ['root' as never] })).rejects.toThrow();
    await expect(mintToken(settings, { sub: 'E1', roles: ['admin'], ttl: 'forever' })).rejects.toThrow();
  });

  it('reads the bearer token from the Authorization header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerToken(undefined)).toThrow(expect.objectContaining({ reason: 'missing-token' }));
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow(expect.objectContaining({ reason: 'malformed-authorization' }));
    try {
      bearerToken('Bearer secret token with spaces');
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });
});

/** The configuration the environment `env` yields, with its data in `dataDir`. */
const configOf = (dataDir: string, env: NodeJS.ProcessEnv) => loadConfig({ env: { PROVISIONER_DATA: dataDir, ...env }, root: dataDir });

describe('the API secret', () => {
  it('comes from the environment, a named file, or the development file; absent means undefined', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'api-auth-'));
    expect(loadJwtSettings(configOf(dataDir, {}))).toBeUndefined();
    expect(() => loadJwtSettings(configOf(dataDir, { PROVISIONER_API_JWT_SECRET: 'short' }))).toThrow(/at least 32 bytes/);
    expect(() => loadJwtSettings(configOf(dataDir, { PROVISIONER_API_JWT_SECRET_FILE: path.join(dataDir, 'missing') }))).toThrow(/does not exist/);
    const fromEnv = loadJwtSettings(configOf(dataDir, { PROVISIONER_API_JWT_SECRET: 'x'.repeat(32), PROVISIONER_API_JWT_AUDIENCE: 'aud' }));
    expect(fromEnv).toMatchObject({ issuer: 'provisioner', audience: 'aud' });
    const file = ensureDevSecret(dataDir);
    expect(file).toBe(devSecretFile(dataDir));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, 'utf8');
    ensureDevSecret(dataDir); // kept, not replaced
    expect(readFileSync(file, 'utf8')).toBe(secret);
    expect(Buffer.from(loadJwtSettings(configOf(dataDir, {}))!.secret).toString()).toBe(secret.trim());
  });
});

describe('the route table', () => {
  it('allows each route only to its roles', () => {
    expect(isAllowed('POST /codec/decode', ['auditor'])).toBe(true);
    expect(isAllowed('POST /codec/encode', ['auditor'])).toBe(false);
    expect(isAllowed('POST /codec/encode', ['operator'])).toBe(true);
    expect(isAllowed('GET /identities/:employeeId', ['approver'])).toBe(false);
    expect(isAllowed('GET /identities/:employeeId', ['approver', 'auditor'])).toBe(true);
    expect(isAllowed('DELETE /everything', ['admin'])).toBe(false);
    for (const roles of Object.values(routeRoles)) expect(roles).toContain('admin');
  });
});
