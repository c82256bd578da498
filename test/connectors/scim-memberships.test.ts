// Memberships whatever the server returns (connectors/scim/memberships.ts), against the real target
// app in the profiles of servers people run: users that never carry `groups`, servers that do not
// count their listings (or count only the page), and a server where memberships cannot be read at
// all. Also what a getAccount costs in requests on each, counted in the app's own request log.
import { afterEach, describe, expect, it } from 'vitest';
import { callContext } from '../../connectors/conformance/harness.js';
import { collectPages, type AccountRef, type EnsureAccountRequest } from '../../connectors/contract.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { behaviourOf, type ProfileName } from '../../targets/profiles.js';
import { groupBody, patchOp, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const person = (employeeId: string): EnsureAccountRequest => ({
  employeeId,
  userName: `${employeeId.toLowerCase()}@example.com`,
  givenName: 'Mo',
  familyName: 'Member',
  email: `${employeeId.toLowerCase()}@example.com`,
  active: true,
});

const apps: TestScimApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function appWith(profile: ProfileName, maxResults?: number) {
  const app = await startTestScimApp({ behaviour: behaviourOf(profile), ...(maxResults ? { maxResults } : {}) });
  apps.push(app);
  const connector = new ScimConnector({ app: `scim-${profile}`, baseUrl: app.scimUrl, bearerToken: () => app.bearerToken, timeoutMs: 5_000 });
  return { app, connector };
}

// The request log's path is the one inside the SCIM router (`/Users`): everything but the admin API.
const logged = (app: TestScimApp) => app.logs.filter((l) => l.msg === 'request' && !String(l.path).startsWith('/admin')).length;

/** SCIM requests the app has answered so far (its request log, written when a response finishes), discovery included. */
async function requests(app: TestScimApp): Promise<number> {
  for (let seen = -1; ; ) {
    await new Promise((r) => setTimeout(r, 25));
    const now = logged(app);
    if (now === seen) return now;
    seen = now;
  }
}

async function group(app: TestScimApp, name: string): Promise<string> {
  const res = await app.scim('POST', '/Groups', { body: groupBody(name) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('users that never carry groups (no-groups)', () => {
  it('getAccount lists the groups from the Groups endpoint; grant and revoke twice: applied, then already-in-state', async () => {
    const { app, connector } = await appWith('no-groups');
    const [sales, support] = [await group(app, 'sales'), await group(app, 'support')];
    const { account } = (await connector.ensureAccount(person('E-NG1'), callContext())) as { account: AccountRef };
    // A membership the connector did not make: an admin added it in the app.
    await app.scim('PATCH', `/Groups/${support}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: account.id }] }) });

    expect(await connector.grant({ account, entitlementId: sales }, callContext())).toEqual({ status: 'applied' });
    expect(await connector.grant({ account, entitlementId: sales }, callContext())).toEqual({ status: 'already-in-state' });
    const read = await connector.getAccount({ employeeId: 'E-NG1' }, callContext());
    expect(read?.entitlements?.sort()).toEqual([sales, support].sort());
    expect(read?.entitlementsUnknown).toBeUndefined();

    expect(await connector.revoke({ account, entitlementId: sales }, callContext())).toEqual({ status: 'applied' });
    expect(await connector.revoke({ account, entitlementId: sales }, callContext())).toEqual({ status: 'already-in-state' });
    expect((await connector.getAccount({ employeeId: 'E-NG1' }, callContext()))?.entitlements).toEqual([support]);
    const added = (await app.admin.writes()).filter((w) => w.id === sales && w.membersAdded?.includes(account.id));
    expect(added).toHaveLength(1);
  });

  it('listAccounts carries every user\'s groups', async () => {
    const { app, connector } = await appWith('no-groups', 2);
    const sales = await group(app, 'sales');
    const refs: AccountRef[] = [];
    for (let i = 0; i < 3; i += 1) refs.push(((await connector.ensureAccount(person(`E-NGL${i}`), callContext())) as { account: AccountRef }).account);
    await connector.grant({ account: refs[1]!, entitlementId: sales }, callContext());
    const listed = await collectPages((p) => connector.listAccounts(p, callContext()));
    expect(listed.map((a) => [a.externalId, a.entitlements])).toEqual([['E-NGL0', []], ['E-NGL1', [sales]], ['E-NGL2', []]]);
  });
});

describe('listings on servers whose users do not carry groups', () => {
  for (const profile of ['no-groups', 'ignored-member-filter'] as const) {
    it(`${profile}: the member lists are read once per listing, not once per user, and each user gets exactly their groups`, async () => {
      const { app, connector } = await appWith(profile, 3);
      const [sales, support] = [await group(app, 'sales'), await group(app, 'support')];
      const refs: AccountRef[] = [];
      for (let i = 0; i < 8; i += 1) refs.push(((await connector.ensureAccount(person(`E-LI${i}`), callContext())) as { account: AccountRef }).account);
      for (const i of [0, 3, 7]) await app.scim('PATCH', `/Groups/${sales}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: refs[i]!.id }] }) });
      for (const i of [3, 4]) await app.scim('PATCH', `/Groups/${support}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: refs[i]!.id }] }) });
      const before = await requests(app);
      const listed = await collectPages((p) => connector.listAccounts(p, callContext()), 3);
      const used = (await requests(app)) - before;
      const want: Record<string, string[]> = { 'E-LI0': [sales], 'E-LI3': [sales, support], 'E-LI4': [support], 'E-LI7': [sales] };
      expect(Object.fromEntries(listed.map((a) => [a.externalId, [...(a.entitlements ?? [])].sort()]))).toEqual(
        Object.fromEntries(refs.map((_, i) => [`E-LI${i}`, [...(want[`E-LI${i}`] ?? [])].sort()])),
      );
      expect(listed.every((a) => a.entitlementsUnknown === undefined)).toBe(true);
      // 3 pages of users (8 users in pages of 3) and 1 page of groups; never one request per user.
      expect(used).toBe(4);
    });
  }
});

describe('a server that drops a members filter and answers every group (ignored-member-filter)', () => {
  it('the member filter is checked first, found ignored, and memberships come from the member lists: exactly the user\'s groups', async () => {
    const { app, connector } = await appWith('ignored-member-filter');
    const [sales, support, finance] = [await group(app, 'sales'), await group(app, 'support'), await group(app, 'finance')];
    const { account } = (await connector.ensureAccount(person('E-IF1'), callContext())) as { account: AccountRef };
    const other = ((await connector.ensureAccount(person('E-IF2'), callContext())) as { account: AccountRef }).account;
    await connector.grant({ account, entitlementId: support }, callContext());
    await connector.grant({ account: other, entitlementId: finance }, callContext());
    // The server really ignores the filter: a member no one has still gets every group back.
    const unfiltered = await app.scim('GET', `/Groups?filter=${encodeURIComponent('members[value eq "nobody"]')}`);
    expect(unfiltered.body.Resources).toHaveLength(3);

    const read = await connector.getAccount({ employeeId: 'E-IF1' }, callContext());
    expect(read?.entitlements).toEqual([support]);
    expect(read?.entitlementsUnknown).toBeUndefined();
    expect(await connector.grant({ account, entitlementId: support }, callContext())).toEqual({ status: 'already-in-state' });
    expect(await connector.grant({ account, entitlementId: sales }, callContext())).toEqual({ status: 'applied' });
    expect((await connector.getAccount({ employeeId: 'E-IF1' }, callContext()))?.entitlements?.sort()).toEqual([sales, support].sort());
  });
});

describe('listings without exact totals', () => {
  for (const profile of ['no-totals', 'approximate-totals'] as const) {
    it(`${profile}: listings are complete past a page; a lookup stays one request`, async () => {
      const { app, connector } = await appWith(profile, 3);
      for (let i = 0; i < 8; i += 1) await connector.ensureAccount(person(`E-PG${i}`), callContext());
      const listed = await collectPages((p) => connector.listAccounts(p, callContext()));
      expect(listed.map((a) => a.externalId).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `E-PG${i}`));
      // Re-ensuring the last one finds it (a lookup by externalId): no duplicate is created.
      expect((await connector.ensureAccount(person('E-PG7'), callContext())).status).toBe('unchanged');
      // The listing read memberships from the member lists, so the first member filter is checked once (memberships.ts).
      await connector.getAccount({ employeeId: 'E-PG2' }, callContext());
      const before = await requests(app);
      expect(await connector.getAccount({ employeeId: 'E-PG3' }, callContext())).toMatchObject({ externalId: 'E-PG3' });
      // The lookup (1) and, for a user without groups on a server not yet seen to return them, the Groups endpoint (1).
      expect((await requests(app)) - before).toBe(2);
    });
  }
});

describe('a server where memberships cannot be read (no-memberships)', () => {
  it('the account says why; grant falls back to the idempotent add, revoke to noTarget', async () => {
    const { app, connector } = await appWith('no-memberships');
    const vault = await group(app, 'vault');
    const { account } = (await connector.ensureAccount(person('E-NM1'), callContext())) as { account: AccountRef };
    const read = await connector.getAccount({ employeeId: 'E-NM1' }, callContext());
    expect(read?.entitlements).toEqual([]);
    expect(read?.entitlementsUnknown).toMatch(/memberships cannot be read/);
    expect(read?.entitlementsUnknown).toMatch(/refused a members\[value eq \.\.\.\] filter/);
    expect(read?.entitlementsUnknown).toMatch(/never returns `members`/);

    // RFC 7644 §3.5.2.1: an add is idempotent, but whether it changed anything cannot be told.
    expect(await connector.grant({ account, entitlementId: vault }, callContext())).toEqual({ status: 'applied' });
    expect(await connector.grant({ account, entitlementId: vault }, callContext())).toEqual({ status: 'applied' });
    const adds = (await app.admin.writes()).filter((w) => w.id === vault && w.operation === 'patch');
    expect(adds.map((w) => w.membersAdded ?? [])).toEqual([[account.id], []]);
    // RFC 7644 §3.12: removing a non-member is 400 noTarget.
    expect(await connector.revoke({ account, entitlementId: vault }, callContext())).toEqual({ status: 'applied' });
    expect(await connector.revoke({ account, entitlementId: vault }, callContext())).toEqual({ status: 'already-in-state' });
  });
});

describe('what a getAccount costs', () => {
  /** Requests of one getAccount of a user holding one group, after a first call has discovered the server. */
  async function cost(profile: ProfileName): Promise<{ first: number; warm: number; unknown: boolean }> {
    const { app, connector } = await appWith(profile);
    const g = await group(app, 'cost');
    const { account } = (await connector.ensureAccount(person('E-C1'), callContext())) as { account: AccountRef };
    await app.scim('PATCH', `/Groups/${g}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: account.id }] }) });
    let before = await requests(app);
    const read = await connector.getAccount({ employeeId: 'E-C1' }, callContext());
    const first = (await requests(app)) - before;
    before = await requests(app);
    await connector.getAccount({ employeeId: 'E-C1' }, callContext());
    return { first, warm: (await requests(app)) - before, unknown: read?.entitlementsUnknown !== undefined };
  }

  it('standard: 1 (the user carries its groups); no-groups: 2 (plus the Groups endpoint; 3 while the member filter is checked); no-memberships: 2, then 1 once the refusal is known', async () => {
    expect(await cost('standard')).toEqual({ first: 1, warm: 1, unknown: false });
    expect(await cost('no-groups')).toEqual({ first: 3, warm: 2, unknown: false });
    expect(await cost('saas')).toEqual({ first: 3, warm: 2, unknown: false });
    expect(await cost('ignored-member-filter')).toEqual({ first: 3, warm: 2, unknown: false });
    expect(await cost('no-memberships')).toEqual({ first: 2, warm: 1, unknown: true });
  });

  it('discovery is asked once per connector (three requests), not per call', async () => {
    const { app, connector } = await appWith('standard');
    for (let i = 0; i < 3; i += 1) await connector.getAccount({ employeeId: `E-none-${i}` }, callContext());
    const discovery = app.logs.filter((l) => l.msg === 'request' && /\/(ServiceProviderConfig|ResourceTypes|Schemas)$/.test(String(l.path)));
    expect(discovery).toHaveLength(3);
  });
});
