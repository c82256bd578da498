// An app's Retry-After as the SCIM connector reads it, over real HTTP from a target app: honoured
// whole by default, however long; cut to the app's `maxRetryAfterSeconds` when its connector config
// sets one (an app whose maintenance answers ask for an hour). The same cut applies to the app's
// OAuth token endpoint (a token server in maintenance, here a plain HTTP server that answers 503:
// the target app never faults its /oauth/token).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { callContext } from '../../connectors/conformance/harness.js';
import { TransientError } from '../../connectors/errors.js';
import { startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp({ name: 'crm' });
});
afterAll(async () => {
  await app.close();
});

/** The error of one read answered 503 with `Retry-After: 3600`, through a connector built from `extra` config. */
async function askedToWait(extra: Record<string, unknown>): Promise<TransientError> {
  const connector = createConnector(parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: { env: 'CRM_TOKEN' } }, ...extra }), { env: { CRM_TOKEN: app.bearerToken } });
  // Discovery first, unfaulted: the fault hits the read.
  await connector.getAccount({ employeeId: 'E0' }, callContext());
  await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 3600 });
  const failed = await connector.getAccount({ employeeId: 'E1' }, callContext()).then(() => undefined, (e: unknown) => e);
  expect(failed).toBeInstanceOf(TransientError);
  return failed as TransientError;
}

describe("the SCIM connector and an app's Retry-After", () => {
  it('honours all of it by default', async () => {
    expect((await askedToWait({})).retryAfterMs).toBe(3_600_000);
  });

  it("cuts it to the app's maxRetryAfterSeconds", async () => {
    expect((await askedToWait({ maxRetryAfterSeconds: 30 })).retryAfterMs).toBe(30_000);
  });

  it('refuses a maxRetryAfterSeconds below one second', () => {
    expect(() => parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: { env: 'CRM_TOKEN' } }, maxRetryAfterSeconds: 0 })).toThrow(/maxRetryAfterSeconds/);
  });
});

describe("the SCIM connector and its token endpoint's Retry-After", () => {
  let tokenServer: http.Server;
  let tokenUrl = '';
  beforeAll(async () => {
    tokenServer = http.createServer((_req, res) => void res.writeHead(503, { 'retry-after': '86400', 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}'));
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(() => new Promise<void>((resolve) => tokenServer.close(() => resolve())));

  const refusedToken = async (extra: Record<string, unknown>) => {
    const connector = createConnector(parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: app.scimUrl, auth: { kind: 'oauth2', tokenUrl, clientId: 'p', clientSecret: { env: 'S' } }, ...extra }), { env: { S: 'the-client-secret' } });
    const failed = await connector.getAccount({ employeeId: 'E1' }, callContext()).then(() => undefined, (e: unknown) => e);
    expect(failed).toBeInstanceOf(TransientError);
    expect((failed as Error).message).toContain('OAuth token request');
    return failed as TransientError;
  };

  it('honours a day by default', async () => {
    expect((await refusedToken({})).retryAfterMs).toBe(86_400_000);
  });

  it("cuts it to the app's maxRetryAfterSeconds, as for its SCIM answers", async () => {
    expect((await refusedToken({ maxRetryAfterSeconds: 30 })).retryAfterMs).toBe(30_000);
  });
});
