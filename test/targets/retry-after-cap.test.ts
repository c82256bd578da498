// An app's Retry-After as the SCIM connector reads it, over real HTTP from a target app: honoured
// whole by default, however long; cut to the app's `maxRetryAfterSeconds` when its connector config
// sets one (an app whose maintenance answers ask for an hour).
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
