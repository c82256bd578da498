// Two groups with one name, in an application that allows it (the duplicate-groups profile): the
// entitlement catalog never guesses between them. A grant or revoke of that name fails with both
// ids for a person to settle, and a membership of either group counts as holding the name, so a
// planner still sees it and plans its revoke instead of calling it unmanaged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { callContext } from '../../connectors/conformance/harness.js';
import type { AccountRef } from '../../connectors/contract.js';
import { InvalidRequestError } from '../../connectors/errors.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { behaviourOf } from '../../targets/profiles.js';
import { groupBody, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
let connector: ScimConnector;
const call = () => callContext('duplicate-group-names');

async function createGroup(displayName: string): Promise<string> {
  const res = await app.scim<{ id: string }>('POST', '/Groups', { body: groupBody(displayName) });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function hire(employeeId: string): Promise<AccountRef> {
  const email = `${employeeId.toLowerCase()}@example.com`;
  const result = await connector.ensureAccount({ employeeId, userName: email, givenName: 'Dee', familyName: 'Double', email, active: true }, call());
  if (result.status === 'action-required') throw new Error(result.message);
  return result.account;
}

beforeAll(async () => {
  app = await startTestScimApp({ name: 'chat', behaviour: behaviourOf('duplicate-groups') });
  connector = new ScimConnector({ app: 'chat', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: () => app.bearerToken } });
});

afterAll(async () => {
  await app?.close();
});

describe('two groups with one name', () => {
  it('a grant of the name fails with both ids and writes nothing; holding either group is holding the name', async () => {
    const catalog = new EntitlementCatalog(new Map([['chat', connector]]));
    const first = await createGroup('sales');
    const second = await createGroup('sales');
    const person = await hire('E-DUP-1');
    const writes = (await app.admin.writes()).length;

    const grant = catalog.withId('chat', 'sales', call(), (id) => connector.grant({ account: person, entitlementId: id }, call()));
    await expect(grant).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(grant).rejects.toThrow(new RegExp(`2 entitlements named "sales" \\(ids ${first}, ${second}\\)`));
    expect((await app.admin.writes()).length).toBe(writes);

    // Someone added the person to the second "sales" by hand: the planner must still see "sales".
    await connector.grant({ account: person, entitlementId: second }, call());
    const held = (await connector.getAccount({ employeeId: 'E-DUP-1' }, call()))?.entitlements ?? [];
    expect(await catalog.namesOf('chat', held, call())).toEqual(['sales']);
  });

  it('a name with one group still works beside a duplicated one', async () => {
    const catalog = new EntitlementCatalog(new Map([['chat', connector]]));
    const support = await createGroup('support');
    const person = await hire('E-DUP-2');
    expect(await catalog.withId('chat', 'support', call(), (id) => connector.grant({ account: person, entitlementId: id }, call()))).toEqual({ status: 'applied' });
    expect((await connector.getAccount({ employeeId: 'E-DUP-2' }, call()))?.entitlements).toEqual([support]);
  });
});
