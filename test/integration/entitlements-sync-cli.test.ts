// `provisioner entitlements sync <app>` as an operator runs it: the policy folder, the connectors
// file and the store named by the environment, a SCIM app that allows duplicate group names. One
// line per entitlement and a summary; writes audited; a second run creates nothing; two groups with
// one name end the command with status 1 and nothing created.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { policyEntitlements } from '../../activities/entitlement-sync.js';
import { registerEntitlementsCommands } from '../../cli/commands/entitlements.js';
import { describeFailure, exitStatusOf } from '../../cli/failure.js';
import { formatKeyEntry } from '../../crypto/keyring.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { projectRoot } from '../../schemas/config.js';
import { queryAudit } from '../../store/audit-query.js';
import { generateSigningSeed } from '../../store/signing.js';
import { loadStoreKeys } from '../../store/store-keys.js';
import { behaviourOf } from '../../targets/profiles.js';
import { groupBody, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';
import { createTestStore, type TestStore } from './store/test-store.js';

const names = policyEntitlements(loadPolicyOrThrow(path.join(projectRoot, 'examples', 'policy')), 'chat');
const saved = { ...process.env };
let t: TestStore;
let app: TestScimApp;

beforeAll(async () => {
  app = await startTestScimApp({ name: 'chat', behaviour: behaviourOf('duplicate-groups') });
  const dir = mkdtempSync(path.join(tmpdir(), 'entitlements-sync-'));
  const tokenFile = path.join(dir, 'chat.token');
  writeFileSync(tokenFile, app.bearerToken);
  const connectorsFile = path.join(dir, 'connectors.yaml');
  writeFileSync(connectorsFile, stringify({ connectors: [{ type: 'scim', app: 'chat', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: { file: tokenFile } } }] }));
  const env = {
    PROVISIONER_AUDIT_SIGNING_KEY: formatKeyEntry({ id: 'sync-test', material: generateSigningSeed() }),
    PROVISIONER_STORE_KEK: formatKeyEntry({ id: 'sync-kek', material: randomBytes(32) }),
  };
  t = await createTestStore('sync', { keys: loadStoreKeys({ dataDir: '/nonexistent', env }) });
  Object.assign(process.env, env, {
    PROVISIONER_STORE_SCHEMA: t.schema,
    PROVISIONER_AUDIT_CHECKPOINTS: t.checkpointsFile,
    PROVISIONER_POLICY: path.join(projectRoot, 'examples', 'policy'),
    PROVISIONER_CONNECTORS: connectorsFile,
    PROVISIONER_DATA: dir,
  });
});
afterAll(async () => {
  process.env = saved;
  await app?.close();
  await t?.drop();
});
afterEach(() => vi.restoreAllMocks());

/** Runs the command in process: what it printed, and the status `provisioner` would exit with. */
async function run(...args: string[]): Promise<{ lines: string[]; status: number; failure?: string }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerEntitlementsCommands(program);
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { lines: out.join('').split('\n').filter(Boolean), status: 0 };
  } catch (err) {
    return { lines: out.join('').split('\n').filter(Boolean), status: exitStatusOf(err), failure: describeFailure(err).trim() };
  } finally {
    vi.restoreAllMocks();
  }
}

const groupCreates = async () => (await app.admin.writes()).filter((w) => w.resourceType === 'Group' && w.operation === 'create').length;

describe('provisioner entitlements sync', () => {
  it('--dry-run lists what it would create and writes nothing', async () => {
    const { lines, status } = await run('entitlements', 'sync', 'chat', '--dry-run');
    expect(status).toBe(0);
    expect(lines).toHaveLength(names.length + 1);
    expect(lines[0]).toMatch(/^chat {2}all-staff {8}would create$/);
    expect(lines.at(-1)).toBe(`entitlements sync (dry run, nothing written): ${names.length} entitlement(s) in 1 application(s): ${names.length} would be created, 0 exist, 0 action-required`);
    expect(await groupCreates()).toBe(0);
  });

  it('creates the missing groups, audited; run again, it creates nothing and exits 0', async () => {
    const first = await run('entitlements', 'sync', 'chat');
    expect(first.status).toBe(0);
    expect(first.lines.slice(0, -1).every((l) => /^chat {2}\S+ +created \(id [0-9a-f-]{36}\)$/.test(l))).toBe(true);
    expect(first.lines.at(-1)).toBe(`entitlements sync: ${names.length} entitlement(s) in 1 application(s): ${names.length} created, 0 exist, 0 action-required`);
    expect(await groupCreates()).toBe(names.length);

    const audit = await queryAudit(t.store.pool, t.store.keys.kek, { actor: 'system:entitlements-sync', limit: 1000 });
    expect(audit.filter((r) => r.action === 'entitlement.create-requested')).toHaveLength(names.length);
    expect(audit.filter((r) => r.action === 'entitlement.ensured').map((r) => r.changes[0])).toContainEqual({ op: 'ensureEntitlement', app: 'chat', entitlement: 'all-staff', outcome: 'created' });

    const second = await run('entitlements', 'sync', 'chat');
    expect(second.status).toBe(0);
    expect(second.lines.slice(0, -1).every((l) => / exists \(id [0-9a-f-]{36}\)$/.test(l))).toBe(true);
    expect(second.lines.at(-1)).toMatch(/: 0 created, \d+ exist, 0 action-required$/);
    expect(await groupCreates()).toBe(names.length);
  });

  it('two groups with one name: an action-required line saying why, exit status 1, nothing created', async () => {
    await app.scim('POST', '/Groups', { body: groupBody('sales') }); // a second "sales", made by hand in the app
    const before = await groupCreates();
    const { lines, status, failure } = await run('entitlements', 'sync', 'chat');
    expect(status).toBe(1);
    expect(lines.find((l) => l.startsWith('chat  sales '))).toMatch(/^chat {2}sales {12}action-required: chat: 2 groups are named "sales" \(ids \S+, \S+\); delete or rename all but one in the application$/);
    expect(lines.at(-1)).toMatch(/: 0 created, \d+ exist, 1 action-required$/);
    expect(failure).toBe('entitlements sync: 1 need a person (the lines marked action-required and missing say what to fix); run it again afterwards');
    expect(await groupCreates()).toBe(before);
  });

  it('refuses an application the policy lacks, and neither or both of <app> and --all', async () => {
    expect(await run('entitlements', 'sync', 'nope')).toMatchObject({ status: 1, failure: expect.stringMatching(/^entitlements sync: the policy has no application "nope"; its applications: chat, code, crm, directory$/) });
    expect(await run('entitlements', 'sync')).toMatchObject({ status: 1, failure: expect.stringMatching(/^entitlements sync: name an application \(.*\) or give --all$/) });
    expect(await run('entitlements', 'sync', 'chat', '--all')).toMatchObject({ status: 1, failure: 'entitlements sync: name one application or give --all, not both' });
  });
});
