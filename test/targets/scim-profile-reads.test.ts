// What the target app's profiles change in what clients read: totalResults absent or approximate
// (servers that do not count, or count only the page), and groups whose members stay hidden.
import { afterEach, describe, expect, it } from 'vitest';
import { behaviourOf } from '../../targets/profiles.js';
import { groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

const apps: TestScimApp[] = [];
const start = async (...args: Parameters<typeof startTestScimApp>) => {
  const app = await startTestScimApp(...args);
  apps.push(app);
  return app;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function withUsers(app: TestScimApp, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) expect((await app.scim('POST', '/Users', { body: userBody(`user.${i}@example.com`) })).status).toBe(201);
}

describe('list answers by profile', () => {
  it('no-totals: a ListResponse without totalResults, pages still cut by startIndex and count', async () => {
    const app = await start({ behaviour: behaviourOf('no-totals') });
    await withUsers(app, 5);
    const first = await app.scim('GET', '/Users?startIndex=1&count=2');
    expect(first.body).not.toHaveProperty('totalResults');
    expect(first.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
    const last = await app.scim('GET', '/Users?startIndex=5&count=2');
    expect(last.body.Resources).toHaveLength(1);
    expect(last.body).not.toHaveProperty('totalResults');
  });

  it('approximate-totals: totalResults is the size of the page only', async () => {
    const app = await start({ behaviour: behaviourOf('approximate-totals') });
    await withUsers(app, 5);
    expect((await app.scim('GET', '/Users?startIndex=1&count=2')).body).toMatchObject({ totalResults: 2, itemsPerPage: 2 });
    expect((await app.scim('GET', '/Users?startIndex=5&count=2')).body).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
    expect((await app.scim('GET', '/Users?startIndex=9&count=2')).body).toMatchObject({ totalResults: 0, Resources: [] });
  });
});

describe('no-memberships: neither users nor groups show who is a member', () => {
  it('groups never show members, a members filter is 400 invalidFilter, the schema says returned never; members are still written', async () => {
    const app = await start({ behaviour: behaviourOf('no-memberships') });
    const user = (await app.scim('POST', '/Users', { body: userBody('hidden.member@example.com') })).body;
    const group = (await app.scim('POST', '/Groups', { body: groupBody('secret-club') })).body;
    expect((await app.scim('PATCH', `/Groups/${group.id}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: user.id }] }) })).status).toBe(204);
    expect((await app.admin.writes()).at(-1)).toMatchObject({ resourceType: 'Group', membersAdded: [user.id] });

    expect((await app.scim('GET', `/Groups/${group.id}`)).body).not.toHaveProperty('members');
    expect((await app.scim('GET', '/Groups?attributes=displayName,members')).body.Resources[0]).not.toHaveProperty('members');
    expect((await app.scim('GET', `/Users/${user.id}`)).body).not.toHaveProperty('groups');
    const filtered = await app.scim('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${user.id}"]`)}`);
    expect(filtered.status).toBe(400);
    expect(filtered.body.scimType).toBe('invalidFilter');

    const schemas = (await app.scim('GET', '/Schemas')).body.Resources as Array<{ id: string; attributes: Array<{ name: string; returned: string }> }>;
    const members = schemas.find((s) => s.id === 'urn:ietf:params:scim:schemas:core:2.0:Group')!.attributes.find((a) => a.name === 'members');
    expect(members?.returned).toBe('never');
  });

  it('the standard profile keeps members readable and filterable', async () => {
    const app = await start();
    const user = (await app.scim('POST', '/Users', { body: userBody('open.member@example.com') })).body;
    const group = (await app.scim('POST', '/Groups', { body: groupBody('open-club', { members: [{ value: user.id }] }) })).body;
    const filtered = await app.scim('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${user.id}"]`)}`);
    expect(filtered.body.Resources.map((g: { id: string }) => g.id)).toEqual([group.id]);
  });
});
