// Groups by identity against SCIM apps that need not answer a duplicate name with 409: the sync
// finds each of the policy's groups by displayName and creates only the missing ones, so a second
// run creates nothing; two groups with one name are action-required and nothing is created. Real
// target apps over HTTP (the `duplicate-groups` profile and the standard one), the real connector.
import { afterEach, describe, expect, it } from 'vitest';
import { policyEntitlements, syncEntitlements, type SyncOptions } from '../../activities/entitlement-sync.js';
import { callContext } from '../../connectors/conformance/harness.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { loadPolicyDir } from '../../policy/loader.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import { projectRoot } from '../../schemas/config.js';
import { behaviourOf } from '../../targets/profiles.js';
import { groupBody, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const loaded = loadPolicyDir(`${projectRoot}/examples/policy`);
if (!loaded.ok) throw new Error('the example policy does not load');
const policy: CompiledPolicy = loaded.policy;
const names = policyEntitlements(policy, 'chat');

const apps: TestScimApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(profile: 'duplicate-groups' | 'standard'): Promise<{ app: TestScimApp; connectors: Map<string, ScimConnector> }> {
  const app = await startTestScimApp({ name: 'chat', behaviour: behaviourOf(profile) });
  apps.push(app);
  const connector = new ScimConnector({ app: 'chat', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: () => app.bearerToken } });
  return { app, connectors: new Map([['chat', connector]]) };
}

const sync = (connectors: Map<string, ScimConnector>, options: Partial<SyncOptions> = {}) =>
  syncEntitlements(policy, connectors, { apps: ['chat'], dryRun: false, runId: 'test', ...options });

const groupCreates = async (app: TestScimApp) => (await app.admin.writes()).filter((w) => w.resourceType === 'Group' && w.operation === 'create').length;

describe('the duplicate-groups profile (a second group with one name is created, no 409)', () => {
  it('creates a second group of the same name where the standard profile answers 409 uniqueness', async () => {
    const { app } = await start('duplicate-groups');
    expect((await app.scim('POST', '/Groups', { body: groupBody('engineering') })).status).toBe(201);
    expect((await app.scim('POST', '/Groups', { body: groupBody('engineering') })).status).toBe(201);
    const listed = await app.scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}`);
    expect(listed.body.totalResults).toBe(2);

    const { app: standard } = await start('standard');
    expect((await standard.scim('POST', '/Groups', { body: groupBody('engineering') })).status).toBe(201);
    const second = await standard.scim('POST', '/Groups', { body: groupBody('engineering') });
    expect(second.status).toBe(409);
    expect(second.body.scimType).toBe('uniqueness');
  });
});

describe('entitlements sync against a SCIM app', () => {
  it('run twice against duplicate-groups: the first creates every group, the second creates nothing', async () => {
    const { app, connectors } = await start('duplicate-groups');
    const first = await sync(connectors);
    expect(first.entitlements.map((l) => l.status)).toEqual(names.map(() => 'created'));
    expect(await groupCreates(app)).toBe(names.length);

    const second = await sync(connectors);
    expect(second.entitlements.map((l) => l.status)).toEqual(names.map(() => 'existing'));
    // The same ids: the second run found the groups the first one made.
    expect(second.entitlements.map((l) => (l.status === 'existing' ? l.id : ''))).toEqual(first.entitlements.map((l) => (l.status === 'created' ? l.id : '')));
    expect(await groupCreates(app)).toBe(names.length);
    expect((await app.scim('GET', '/Groups')).body.totalResults).toBe(names.length);
  });

  it('two pre-existing groups with one name: action-required naming both ids, and nothing is created', async () => {
    const { app, connectors } = await start('duplicate-groups');
    const ids = [];
    for (let i = 0; i < 2; i += 1) ids.push((await app.scim<{ id: string }>('POST', '/Groups', { body: groupBody('sales') })).body.id);
    const before = await groupCreates(app);

    const report = await sync(connectors, { dryRun: true });
    const sales = report.entitlements.find((l) => l.entitlement === 'sales')!;
    expect(sales.status).toBe('action-required');
    expect(sales.status === 'action-required' && sales.message).toBe(`chat: 2 groups are named "sales" (ids ${ids.join(', ')}); delete or rename all but one in the application`);
    expect(report.entitlements.filter((l) => l.status === 'would-create')).toHaveLength(names.length - 1);
    expect(await groupCreates(app)).toBe(before); // a dry run writes nothing

    const connector = connectors.get('chat')!;
    expect(await connector.ensureEntitlement({ name: 'sales' }, callContext())).toMatchObject({ status: 'action-required' });
    expect(await groupCreates(app)).toBe(before);
    expect((await app.scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "sales"')}`)).body.totalResults).toBe(2);
  });

  it('a name held under another case (the app compares case-insensitively): the 409 is action-required, not a guess', async () => {
    const { app, connectors } = await start('standard');
    await app.scim('POST', '/Groups', { body: groupBody('Engineering') });
    const connector = connectors.get('chat')!;
    // The filter answers the case-insensitive match; the exact comparison on our side says missing.
    expect(await connector.findEntitlement({ name: 'engineering' }, callContext())).toEqual({ status: 'missing' });
    const result = await connector.ensureEntitlement({ name: 'engineering' }, callContext());
    expect(result.status).toBe('action-required');
    expect(result.status === 'action-required' && result.message).toMatch(/^chat: cannot create group "engineering": uniqueness: .*one differing in case\?\); rename it in the application or fix the policy$/);
    expect((await app.scim('GET', '/Groups')).body.totalResults).toBe(1);
  });

  it('a group that exists by exactly its name is found, and a create answered 409 by a racing create finds it', async () => {
    const { app, connectors } = await start('standard');
    const connector = connectors.get('chat')!;
    const created = await connector.ensureEntitlement({ name: 'research' }, callContext());
    expect(created).toMatchObject({ status: 'created', entitlement: { app: 'chat', displayName: 'research' } });
    expect(await connector.ensureEntitlement({ name: 'research' }, callContext())).toEqual({ status: 'existing', entitlement: (created as { entitlement: unknown }).entitlement });
    expect(await groupCreates(app)).toBe(1);
  });
});
