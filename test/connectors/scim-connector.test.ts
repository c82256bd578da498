// The SCIM connector's own duties beyond the kit, against the real target app: credentials from
// config (file, environment) and never in errors or logs, OAuth2 token caching and refresh,
// timeouts, If-Match, listing cursors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { asActivity, callContext } from '../../connectors/conformance/harness.js';
import type { AccountRef, EnsureAccountRequest } from '../../connectors/contract.js';
import { AuthError, InvalidRequestError, TransientError } from '../../connectors/errors.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { patchOp, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const person = (employeeId: string, extra: Partial<EnsureAccountRequest> = {}): EnsureAccountRequest => ({
  employeeId,
  userName: `${employeeId.toLowerCase()}@example.com`,
  givenName: 'Sam',
  familyName: 'Smith',
  email: `${employeeId.toLowerCase()}@example.com`,
  active: true,
  ...extra,
});

/** A pino logger at debug writing parsed JSON lines into `lines`, with the project's redaction paths. */
function memoryLogger(lines: string[]) {
  return pino(
    { level: 'debug', redact: { paths: ['authorization', '*.authorization', 'token', '*.token'], censor: '[redacted]' } },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  );
}

const tokenRequests = (app: TestScimApp) => app.logs.filter((l) => l.path === '/oauth/token').length;

const apps: TestScimApp[] = [];
const start = async (...args: Parameters<typeof startTestScimApp>) => {
  const app = await startTestScimApp(...args);
  apps.push(app);
  return app;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('SCIM connector credentials', () => {
  it('reads a bearer token from the file named in config, picks up a rotated file, and never shows the token', async () => {
    const current = 'bearer-current-Zq81xT0ken';
    const stale = 'bearer-stale-Pp42yT0ken';
    const app = await start({ bearerTokens: [current] });
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-secret-'));
    writeFileSync(path.join(dir, 'crm.token'), `${stale}\n`);
    const lines: string[] = [];
    const config = parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: { file: 'crm.token' } } });
    const connector = createConnector(config, { root: dir, logger: memoryLogger(lines) });

    const refused = await connector.ensureAccount(person('E-CRED-1'), callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as AuthError).retryable).toBe(false);
    expect((refused as Error).message).toMatch(/answered 401/);

    writeFileSync(path.join(dir, 'crm.token'), `${current}\n`);
    expect((await connector.ensureAccount(person('E-CRED-1'), callContext())).status).toBe('created');

    const everything = [(refused as Error).message, (refused as Error).stack ?? '', ...lines, ...app.logs.map((l) => JSON.stringify(l))].join('\n');
    expect(lines.some((l) => l.includes('"SCIM request"'))).toBe(true);
    expect(everything).not.toContain(current);
    expect(everything).not.toContain(stale);
  });

  it('reads an OAuth client secret from the environment variable named in config; a wrong one is AuthError without secrets', async () => {
    const app = await start();
    const env: NodeJS.ProcessEnv = { CRM_CLIENT_SECRET: 'wrong-client-secret-9917' };
    const lines: string[] = [];
    const config = parseConnectorConfig({
      type: 'scim',
      app: 'crm',
      baseUrl: app.scimUrl,
      auth: { kind: 'oauth2', tokenUrl: app.oauth.tokenUrl, clientId: app.oauth.clientId, clientSecret: { env: 'CRM_CLIENT_SECRET' } },
    });
    const connector = createConnector(config, { env, logger: memoryLogger(lines) });
    const refused = await connector.getAccount({ employeeId: 'E-1' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as Error).message).toMatch(/OAuth token request .* answered 401 invalid_client/);

    env.CRM_CLIENT_SECRET = app.oauth.clientSecret;
    expect((await connector.ensureAccount(person('E-CRED-2'), callContext())).status).toBe('created');
    const everything = [(refused as Error).message, ...lines].join('\n');
    expect(everything).not.toContain('wrong-client-secret-9917');
    expect(everything).not.toContain(app.oauth.clientSecret);
  });

  it('rejects inline secrets in connector config', () => {
    expect(() => parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: 'http://127.0.0.1:1/scim/v2', auth: { kind: 'bearer', token: 'inline-token-value' } })).toThrow(/invalid connector config/);
  });
});

describe('SCIM connector OAuth2 client credentials', () => {
  it('fetches one token for many concurrent calls, and a new one shortly before it expires', async () => {
    const app = await start({ oauth: { clientId: 'crm-client', clientSecret: 'crm-client-secret-1', tokenTtlSeconds: 6 } });
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'oauth2', tokenUrl: app.oauth.tokenUrl, clientId: 'crm-client', clientSecret: () => 'crm-client-secret-1' } });
    await Promise.all(['A', 'B', 'C', 'D', 'E'].map((k) => connector.ensureAccount(person(`E-OA-${k}`), callContext())));
    expect(tokenRequests(app)).toBe(1);
    // A 6 s token is refreshed 5 s before it expires (10 % of its life, at least 5 s).
    await new Promise((r) => setTimeout(r, 1_200));
    await connector.getAccount({ employeeId: 'E-OA-A' }, callContext());
    expect(tokenRequests(app)).toBe(2);
  });

  it('on a 401 drops the token, fetches a fresh one and retries once', async () => {
    let offsetMs = 0;
    const app = await start({ now: () => Date.now() + offsetMs });
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'oauth2', tokenUrl: app.oauth.tokenUrl, clientId: app.oauth.clientId, clientSecret: () => app.oauth.clientSecret } });
    await connector.ensureAccount(person('E-OA-401'), callContext());
    offsetMs = 2 * 3600_000; // the app's clock says our cached token expired
    expect((await connector.getAccount({ employeeId: 'E-OA-401' }, callContext()))?.externalId).toBe('E-OA-401');
    expect(tokenRequests(app)).toBe(2);
    expect(app.logs.filter((l) => l.status === 401).length).toBe(1);
  });
});

describe('SCIM connector requests', () => {
  it('a request slower than the timeout is a TransientError that says so', async () => {
    const app = await start({ faults: { latencyMs: 500 } });
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, bearerToken: () => app.bearerToken, timeoutMs: 100 });
    const err = await connector.getAccount({ employeeId: 'E-SLOW' }, callContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/timed out after 100 ms/);
  });

  it('a server that is down is a TransientError', async () => {
    const connector = new ScimConnector({ app: 'crm', baseUrl: 'http://127.0.0.1:9/scim/v2', bearerToken: () => 'unused-token-1234' });
    await expect(connector.getAccount({ employeeId: 'E-1' }, callContext())).rejects.toBeInstanceOf(TransientError);
  });

  it('If-Match: a user changed between our read and our write is re-read, and what the other writer set survives', async () => {
    const app = await start();
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, bearerToken: () => app.bearerToken });
    const { account } = (await connector.ensureAccount(person('E-ETAG'), callContext())) as { account: AccountRef };
    // Every request now waits 300 ms before it is handled: our read is handled at ~300 ms, the
    // other writer's PATCH (sent at 100 ms) at ~400 ms, our conditional write at ~600 ms.
    await app.admin.setFaults({ latencyMs: 300 });
    const other = new Promise((r) => setTimeout(r, 100)).then(() => app.scim('PATCH', `/Users/${account.id}`, { body: patchOp({ op: 'add', path: 'nickName', value: 'Sammy' }) }));
    const first = await connector.ensureAccount(person('E-ETAG', { familyName: 'Smith-Jones' }), callContext()).catch((e: unknown) => e);
    expect((await other).status).toBe(204);
    expect(first).toBeInstanceOf(TransientError);
    expect((first as Error).message).toMatch(/412/);
    await app.admin.clearFaults();

    const retried = await asActivity((c) => connector.ensureAccount(person('E-ETAG', { familyName: 'Smith-Jones' }), c));
    expect(retried.result.status).toBe('updated');
    const stored = (await app.scim('GET', `/Users/${account.id}`)).body as { nickName?: string; name: { familyName: string } };
    expect(stored.nickName).toBe('Sammy');
    expect(stored.name.familyName).toBe('Smith-Jones');
  });

  it('a listing cursor that is not a SCIM startIndex is InvalidRequestError', async () => {
    const app = await start();
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, bearerToken: () => app.bearerToken });
    await expect(connector.listAccounts({ cursor: '0; drop' }, callContext())).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("a 409 on create for another person's userName names that person's account", async () => {
    const app = await start();
    const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, bearerToken: () => app.bearerToken });
    const owner = (await connector.ensureAccount(person('E-OWN', { userName: 'shared@example.com' }), callContext())) as { account: AccountRef };
    const result = await connector.ensureAccount(person('E-OTHER', { userName: 'SHARED@example.com' }), callContext());
    expect(result).toMatchObject({ status: 'action-required', account: owner.account });
    expect((result as { message: string }).message).toMatch(/another person/);
  });
});
