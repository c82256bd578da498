// The development IdP (stack/dev-idp/) as the tests run it: a real OpenID provider process whose
// access tokens carry the person's employee id and groups for the API's audience, signed with keys
// it publishes, obtained by the device authorization flow a person completes in a browser.
import { statSync } from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeviceSignIn, discover, startIdp, type TestIdp } from '../helpers/idp.js';

let idp: TestIdp;
let shortIdp: TestIdp;

beforeAll(async () => {
  [idp, shortIdp] = await Promise.all([startIdp(), startIdp({ accessTokenTtlSeconds: 2 })]);
}, 180_000);

afterAll(async () => {
  await Promise.all([idp?.stop(), shortIdp?.stop()]);
});

async function verify(issuer: string, token: string, audience = 'provisioner-api') {
  const jwks = (await (await fetch((await discover(issuer)).jwks_uri)).json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience });
}

describe('the development IdP', () => {
  it("issues an approver's access token for provisioner-api with employee_id and groups, signed RS256 with a published key", async () => {
    const token = await idp.tokenFor('E1001');
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    const { payload } = await verify(idp.issuer, token);
    expect(payload).toMatchObject({ sub: 'E1001', employee_id: 'E1001', groups: ['provisioner-approvers'], aud: 'provisioner-api', client_id: 'provisioner-cli' });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('issues a token for another audience when asked, which does not verify for provisioner-api', async () => {
    const token = await idp.tokenFor('E9001', undefined, { audience: 'other-api' });
    const { payload } = await verify(idp.issuer, token, 'other-api');
    expect(payload).toMatchObject({ aud: 'other-api', groups: ['provisioner-operators'] });
    await expect(verify(idp.issuer, token)).rejects.toThrow(/aud/);
  });

  it('gives a person without a provisioner group a token with no groups', async () => {
    const { payload } = await verify(idp.issuer, await idp.tokenFor('E1003'));
    expect(payload).toMatchObject({ sub: 'E1003', groups: [] });
  });

  it('refuses a wrong password on the login page, and no token is issued', async () => {
    await expect(idp.tokenFor('E1001', 'not-the-password')).rejects.toThrow(/sign-in of E1001 failed: Unknown employee id or wrong password/);
  });

  it('refuses a user code it never issued', async () => {
    const verificationUri = `${idp.issuer}/device`;
    await expect(completeDeviceSignIn({ verificationUri, userCode: 'BCDF-GHJK', employeeId: 'E1001', password: 'dev-ada' })).rejects.toThrow(/user code was not taken: That code is not right/);
  });

  it('a short-lived instance issues tokens that expire in seconds', async () => {
    const token = await shortIdp.tokenFor('E9002');
    const { payload } = await verify(shortIdp.issuer, token);
    expect(payload.exp! - payload.iat!).toBe(2);
    await new Promise((r) => setTimeout(r, 3000));
    await expect(verify(shortIdp.issuer, token)).rejects.toThrow(/"exp" claim timestamp check failed/);
  });

  it("keeps its private keys in its data folder, mode 0600, and another instance's keys do not verify its tokens", async () => {
    expect(statSync(path.join(idp.dataDir, 'idp', 'jwks.json')).mode & 0o777).toBe(0o600);
    const token = await idp.tokenFor('E9003');
    const otherJwks = (await (await fetch((await discover(shortIdp.issuer)).jwks_uri)).json()) as JSONWebKeySet;
    await expect(jwtVerify(token, createLocalJWKSet(otherJwks))).rejects.toThrow(/no applicable key found/);
  });

  it("the local stack's IdP (`stack up`, the server idp) signs the demo's approver in", async () => {
    const stackIdp = await startIdp({ stack: true });
    expect(stackIdp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { payload } = await verify(stackIdp.issuer, await stackIdp.tokenFor('E1002'));
    expect(payload).toMatchObject({ sub: 'E1002', groups: ['provisioner-approvers'] });
  });
});
