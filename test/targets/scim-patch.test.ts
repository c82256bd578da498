// PATCH (RFC 7644 §3.5.2) over real HTTP: attribute changes, group membership add and remove,
// noTarget for removing a non-member, and what deletes do to memberships.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
let alice: string;
let bob: string;
let group: string;

beforeAll(async () => {
  app = await startTestScimApp();
});
afterAll(async () => {
  await app.close();
});
beforeEach(async () => {
  await app.admin.reset();
  alice = (await app.scim('POST', '/Users', { body: userBody('alice', { externalId: 'E1' }) })).body.id;
  bob = (await app.scim('POST', '/Users', { body: userBody('bob', { externalId: 'E2' }) })).body.id;
  group = (await app.scim('POST', '/Groups', { body: groupBody('Admins', { externalId: 'G1' }) })).body.id;
});

const memberIds = async (id = group) => ((await app.scim('GET', `/Groups/${id}`)).body.members ?? []).map((m: any) => m.value).sort();

describe('patching attributes', () => {
  it('replace active=false disables the user and answers 204 with the new ETag', async () => {
    const res = await app.scim('PATCH', `/Users/${alice}`, { body: patchOp({ op: 'replace', path: 'active', value: false }) });
    expect(res.status).toBe(204);
    const read = await app.scim('GET', `/Users/${alice}`);
    expect(read.body.active).toBe(false);
    expect(res.headers.get('etag')).toBe(read.body.meta.version);
  });

  it('with attributes= the PATCH answers 200 with the patched resource', async () => {
    const res = await app.scim('PATCH', `/Users/${alice}?attributes=title,userName`, { body: patchOp({ op: 'add', value: { title: 'CFO' } }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: alice, userName: 'alice', title: 'CFO' });
    expect(res.headers.get('etag')).toBe(res.body.meta?.version ?? (await app.scim('GET', `/Users/${alice}`)).body.meta.version);
  });

  it('a PATCH that changes userName to another user\'s is a 409 uniqueness', async () => {
    const res = await app.scim('PATCH', `/Users/${bob}`, { body: patchOp({ op: 'replace', path: 'userName', value: 'ALICE' }) });
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });

  it('a message without the PatchOp schema is a 400 invalidSyntax, an unknown path a 400 invalidPath', async () => {
    const noSchema = await app.scim('PATCH', `/Users/${alice}`, { body: { Operations: [{ op: 'add', path: 'title', value: 'x' }] } });
    expect(noSchema.status).toBe(400);
    expect(noSchema.body.scimType).toBe('invalidSyntax');
    const badPath = await app.scim('PATCH', `/Users/${alice}`, { body: patchOp({ op: 'replace', path: 'shoeSize', value: 44 }) });
    expect(badPath.status).toBe(400);
    expect(badPath.body.scimType).toBe('invalidPath');
  });

  it('a PATCH of an unknown resource is a 404', async () => {
    const res = await app.scim('PATCH', '/Users/unknown-id', { body: patchOp({ op: 'replace', path: 'active', value: false }) });
    expect(res.status).toBe(404);
  });
});

describe('group membership', () => {
  it('add members puts users in the group, and the users list the group', async () => {
    const res = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }) });
    expect(res.status).toBe(204);
    expect(await memberIds()).toEqual([alice, bob].sort());
    const user = await app.scim('GET', `/Users/${alice}`);
    expect(user.body.groups).toEqual([{ value: group, display: 'Admins', type: 'direct', $ref: `${app.scimUrl}/Groups/${group}` }]);
    const members = (await app.scim('GET', `/Groups/${group}`)).body.members;
    expect(members).toContainEqual({ value: alice, type: 'User', $ref: `${app.scimUrl}/Users/${alice}` });
  });

  it('adding a member twice changes nothing: one membership, same version (RFC 7644 §3.5.2.1)', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }] }) });
    const before = (await app.scim('GET', `/Groups/${group}`)).body.meta.version;
    const again = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }] }) });
    expect(again.status).toBe(204);
    expect(again.headers.get('etag')).toBe(before);
    expect(await memberIds()).toEqual([alice]);
    const writes = await app.admin.writes();
    expect(writes.at(-1)).toMatchObject({ operation: 'patch', resourceType: 'Group', id: group, changed: false });
  });

  it('remove by filter takes the member out', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }) });
    const res = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: `members[value eq "${alice}"]` }) });
    expect(res.status).toBe(204);
    expect(await memberIds()).toEqual([bob]);
    expect((await app.scim('GET', `/Users/${alice}`)).body.groups).toBeUndefined();
  });

  it('remove by value (as Entra ID sends it) takes the member out', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }) });
    const res = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'Remove', path: 'members', value: [{ value: bob }] }) });
    expect(res.status).toBe(204);
    expect(await memberIds()).toEqual([alice]);
  });

  it('removing a user who is not a member is a 400 noTarget and changes nothing (RFC 7644 §3.12)', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }] }) });
    const version = (await app.scim('GET', `/Groups/${group}`)).body.meta.version;
    const byFilter = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: `members[value eq "${bob}"]` }) });
    expect(byFilter.status).toBe(400);
    expect(byFilter.body).toMatchObject({ status: '400', scimType: 'noTarget' });
    const byValue = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'remove', path: 'members', value: [{ value: bob }] }) });
    expect(byValue.status).toBe(400);
    expect(byValue.body.scimType).toBe('noTarget');
    const after = (await app.scim('GET', `/Groups/${group}`)).body;
    expect(after.meta.version).toBe(version);
    expect(after.members.map((m: any) => m.value)).toEqual([alice]);
  });

  it('a PATCH is atomic: a remove without target after an add leaves the group unchanged', async () => {
    const res = await app.scim('PATCH', `/Groups/${group}`, {
      body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }] }, { op: 'remove', path: `members[value eq "${bob}"]` }),
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('noTarget');
    expect(await memberIds()).toEqual([]);
  });

  it('noTarget also holds when membership changes are mixed with other changes', async () => {
    const res = await app.scim('PATCH', `/Groups/${group}`, {
      body: patchOp({ op: 'replace', path: 'displayName', value: 'Admins 2' }, { op: 'remove', path: `members[value eq "${alice}"]` }),
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('noTarget');
    expect((await app.scim('GET', `/Groups/${group}`)).body.displayName).toBe('Admins');
  });

  it('mixed changes apply through scimmy when every remove has a target', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }) });
    const res = await app.scim('PATCH', `/Groups/${group}`, {
      body: patchOp({ op: 'replace', path: 'displayName', value: 'Admins 2' }, { op: 'remove', path: `members[value eq "${alice}"]` }),
    });
    expect(res.status).toBe(204);
    const after = (await app.scim('GET', `/Groups/${group}`)).body;
    expect(after.displayName).toBe('Admins 2');
    expect(after.members.map((m: any) => m.value)).toEqual([bob]);
  });

  it('replace members sets the member list', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }] }) });
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'replace', path: 'members', value: [{ value: bob }] }) });
    expect(await memberIds()).toEqual([bob]);
  });

  it('a member that is not a user or group of the app is a 400 invalidValue', async () => {
    const res = await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: 'no-such-user' }] }) });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });

  it('a group created with members lists them', async () => {
    const res = await app.scim('POST', '/Groups', { body: groupBody('Ops', { members: [{ value: alice }, { value: alice }] }) });
    expect(res.status).toBe(201);
    expect(res.body.members.map((m: any) => m.value)).toEqual([alice]);
  });

  it('deleting a user removes it from its groups, and the write log shows both writes', async () => {
    await app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }) });
    const since = (await app.admin.writes()).at(-1)!.seq;
    expect((await app.scim('DELETE', `/Users/${alice}`)).status).toBe(204);
    expect((await app.scim('GET', `/Users/${alice}`)).status).toBe(404);
    expect(await memberIds()).toEqual([bob]);
    const writes = await app.admin.writes({ since });
    expect(writes.map((w) => [w.operation, w.resourceType, w.id])).toEqual([
      ['patch', 'Group', group],
      ['delete', 'User', alice],
    ]);
    expect(writes[0]).toMatchObject({ cascade: true, membersRemoved: [alice] });
  });
});
