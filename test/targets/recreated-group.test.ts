// A group deleted and recreated in the application gets a new id: the entitlement catalog finds it
// again by its name once, instead of failing every later change on the old id until a restart.
// Against the real SCIM target app over HTTP, through the real SCIM connector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { callContext } from '../../connectors/conformance/harness.js';
import type { AccountRef } from '../../connectors/contract.js';
import { NotFoundError } from '../../connectors/errors.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
let connector: ScimConnector;
let catalog: EntitlementCatalog;
const call = () => callContext('recreated-group');

async function createGroup(displayName: string): Promise<string> {
  const res = await app.scim<{ id: string }>('POST', '/Groups', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function hire(employeeId: string): Promise<AccountRef> {
  const email = `${employeeId.toLowerCase()}@example.com`;
  const result = await connector.ensureAccount({ employeeId, userName: email, givenName: 'Sam', familyName: 'Smith', email, active: true }, call());
  if (result.status === 'action-required') throw new Error(result.message);
  return result.account;
}

beforeAll(async () => {
  app = await startTestScimApp({ name: 'chat' });
  connector = new ScimConnector({ app: 'chat', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: () => app.bearerToken } });
  catalog = new EntitlementCatalog(new Map([['chat', connector]]));
});

afterAll(async () => {
  await app?.close();
});

describe('a group recreated under a new id', () => {
  it('is found again by its name: the grant lands in the new group, and the revoke leaves it', async () => {
    const oldId = await createGroup('engineering');
    const first = await hire('E-REGROUP-1');
    expect(await catalog.withId('chat', 'engineering', call(), (id) => connector.grant({ account: first, entitlementId: id }, call()))).toEqual({ status: 'applied' });

    // An administrator deletes the group and creates it again: the catalog still holds the old id.
    expect((await app.scim('DELETE', `/Groups/${oldId}`)).status).toBe(204);
    const newId = await createGroup('engineering');
    expect(newId).not.toBe(oldId);

    const second = await hire('E-REGROUP-2');
    expect(await catalog.withId('chat', 'engineering', call(), (id) => connector.grant({ account: second, entitlementId: id }, call()))).toEqual({ status: 'applied' });
    expect((await connector.getAccount({ employeeId: 'E-REGROUP-2' }, call()))?.entitlements).toEqual([newId]);

    expect(await catalog.withId('chat', 'engineering', call(), (id) => connector.revoke({ account: second, entitlementId: id }, call()))).toEqual({ status: 'applied' });
    expect((await connector.getAccount({ employeeId: 'E-REGROUP-2' }, call()))?.entitlements ?? []).toEqual([]);
  });

  it('a NotFoundError that is not about the id stands: a grant to an account that is gone still fails', async () => {
    await createGroup('sales');
    const gone: AccountRef = { app: 'chat', id: 'no-such-user', externalId: 'E-REGROUP-GONE' };
    await expect(catalog.withId('chat', 'sales', call(), (id) => connector.grant({ account: gone, entitlementId: id }, call()))).rejects.toBeInstanceOf(NotFoundError);
  });
});
