// A plain listing (no filter, projection or sort: what a reconciliation reads page after page) is
// built without scimmy's per-resource coercion (targets/resources.ts presentListed). It must show
// every resource exactly as a read of that resource does, in every profile that changes what a
// resource shows.
import { afterEach, describe, expect, it } from 'vitest';
import { behaviourOf, type ProfileName } from '../../targets/profiles.js';
import { groupBody, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
let app: TestScimApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function seed(target: TestScimApp): Promise<void> {
  const ids: string[] = [];
  const bodies = [
    userBody('ada', { externalId: 'E-1', name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@example.com', type: 'work', primary: true }], active: true, title: 'Engineer' }),
    userBody('bob', { externalId: 'E-2', active: false, password: 'not-to-be-shown-1', schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE], [ENTERPRISE]: { department: 'Sales', employeeNumber: '2' } }),
    userBody('cy'),
  ];
  for (const body of bodies) {
    const res = await target.scim('POST', '/Users', { body });
    expect(res.status).toBe(201);
    ids.push(res.body.id as string);
  }
  expect((await target.scim('POST', '/Groups', { body: groupBody('sales', { members: [{ value: ids[0] }, { value: ids[1] }] }) })).status).toBe(201);
  expect((await target.scim('POST', '/Groups', { body: groupBody('empty') })).status).toBe(201);
}

describe('a plain listing shows each resource as its read does', () => {
  for (const profile of ['standard', 'no-etags', 'no-groups', 'no-memberships', 'base-path'] as ProfileName[]) {
    it(`${profile}: Users and Groups, over pages of 2`, async () => {
      app = await startTestScimApp({ behaviour: behaviourOf(profile) });
      await seed(app);
      for (const endpoint of ['/Users', '/Groups']) {
        const listed: Array<Record<string, unknown>> = [];
        for (let start = 1; ; start += 2) {
          const page = await app.scim('GET', `${endpoint}?startIndex=${start}&count=2`);
          expect(page.status).toBe(200);
          expect(page.body.startIndex).toBe(start);
          listed.push(...(page.body.Resources as Array<Record<string, unknown>>));
          if (page.body.Resources.length < 2) break;
        }
        expect(listed).toHaveLength(endpoint === '/Users' ? 3 : 2);
        for (const resource of listed) {
          const read = await app.scim('GET', `${endpoint}/${resource.id as string}`);
          expect(resource).toEqual(read.body);
        }
        expect(JSON.stringify(listed)).not.toContain('not-to-be-shown');
      }
    });
  }

  it('the list answer keeps the profile\'s totalResults', async () => {
    app = await startTestScimApp({ behaviour: behaviourOf('approximate-totals') });
    await seed(app);
    const page = await app.scim('GET', '/Users?startIndex=1&count=2');
    expect(page.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 2, itemsPerPage: 2, startIndex: 1 });
    app = await restart(app, 'no-totals');
    const absent = await app.scim('GET', '/Users?startIndex=1&count=2');
    expect(absent.body.totalResults).toBeUndefined();
    expect(absent.body.Resources).toHaveLength(2);
  });
});

async function restart(previous: TestScimApp, profile: ProfileName): Promise<TestScimApp> {
  await previous.close();
  const next = await startTestScimApp({ behaviour: behaviourOf(profile) });
  await seed(next);
  return next;
}
