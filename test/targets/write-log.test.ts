// The write log at GET /admin/writes: every applied write, with the app's own timestamp.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp();
});
afterAll(async () => {
  await app.close();
});
beforeEach(async () => {
  await app.admin.reset();
});

describe('the write log', () => {
  it('records create, replace, patch and delete of users and groups, in order, with their own timestamps', async () => {
    const before = Date.now();
    const user = (await app.scim('POST', '/Users', { body: userBody('alice', { externalId: 'E1' }) })).body;
    await app.scim('PUT', `/Users/${user.id}`, { body: userBody('alice', { externalId: 'E1', title: 'CEO' }) });
    const group = (await app.scim('POST', '/Groups', { body: groupBody('Admins', { externalId: 'G1' }) })).body;
    await app.scim('PATCH', `/Groups/${group.id}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: user.id }] }) });
    await app.scim('PATCH', `/Users/${user.id}`, { body: patchOp({ op: 'replace', path: 'active', value: false }) });
    await app.scim('DELETE', `/Groups/${group.id}`);
    const after = Date.now();

    const writes = await app.admin.writes();
    expect(writes.map((w) => [w.method, w.operation, w.resourceType, w.id, w.externalId])).toEqual([
      ['POST', 'create', 'User', user.id, 'E1'],
      ['PUT', 'replace', 'User', user.id, 'E1'],
      ['POST', 'create', 'Group', group.id, 'G1'],
      ['PATCH', 'patch', 'Group', group.id, 'G1'],
      ['PATCH', 'patch', 'User', user.id, 'E1'],
      ['DELETE', 'delete', 'Group', group.id, 'G1'],
    ]);
    expect(writes[3]).toMatchObject({ membersAdded: [user.id], changed: true });
    const seqs = writes.map((w) => w.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    for (let i = 0; i < writes.length; i += 1) {
      expect(writes[i]!.at).toBeGreaterThanOrEqual(before - 1);
      expect(writes[i]!.at).toBeLessThanOrEqual(after + 1);
      if (i > 0) expect(writes[i]!.at).toBeGreaterThanOrEqual(writes[i - 1]!.at);
    }
    expect(writes[0]!.version).toBe(user.meta.version);
  });

  it('reads and refused writes are not logged', async () => {
    const user = (await app.scim('POST', '/Users', { body: userBody('bob', { externalId: 'E2' }) })).body;
    await app.scim('GET', `/Users/${user.id}`);
    await app.scim('GET', '/Users');
    expect((await app.scim('POST', '/Users', { body: userBody('BOB') })).status).toBe(409);
    expect((await app.scim('PUT', `/Users/${user.id}`, { body: userBody('bob', { title: 'x' }), headers: { 'if-match': 'W/"stale"' } })).status).toBe(412);
    expect((await app.scim('PATCH', `/Users/${user.id}`, { body: patchOp({ op: 'replace', path: 'nope', value: 1 }) })).status).toBe(400);
    expect((await app.admin.writes()).map((w) => w.operation)).toEqual(['create']);
  });

  it('since and limit page through the log', async () => {
    for (let i = 0; i < 5; i += 1) await app.scim('POST', '/Users', { body: userBody(`u${i}`, { externalId: `E${i}` }) });
    const all = await app.admin.writes();
    const page = await app.admin.writes({ since: all[1]!.seq, limit: 2 });
    expect(page.map((w) => w.externalId)).toEqual(['E2', 'E3']);
    expect(await app.admin.writes({ since: all.at(-1)!.seq })).toEqual([]);
  });

  it('reset forgets users, groups and logged writes, and sequence numbers keep growing', async () => {
    await app.scim('POST', '/Users', { body: userBody('carol') });
    const last = (await app.admin.writes()).at(-1)!.seq;
    await app.admin.reset();
    expect(await app.admin.writes()).toEqual([]);
    expect((await app.scim('GET', '/Users')).body.totalResults).toBe(0);
    await app.scim('POST', '/Users', { body: userBody('carol') });
    expect((await app.admin.writes())[0]!.seq).toBeGreaterThan(last);
  });

  it('an invalid query is a 400', async () => {
    const res = await fetch(`${app.url}/admin/writes?since=-4`, { headers: { authorization: `Bearer ${app.adminToken}` } });
    expect(res.status).toBe(400);
  });

  it('/admin/stats counts users, groups and writes', async () => {
    await app.scim('POST', '/Users', { body: userBody('dave') });
    await app.scim('POST', '/Groups', { body: groupBody('Dev') });
    const res = await fetch(`${app.url}/admin/stats`, { headers: { authorization: `Bearer ${app.adminToken}` } });
    expect(await res.json()).toMatchObject({ users: 1, groups: 1, lastWriteSeq: expect.any(Number) });
  });
});
