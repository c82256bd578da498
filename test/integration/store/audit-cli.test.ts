// `provisioner audit verify | query | checkpoint | purge` against a store of the test's own, set up
// through the same environment variables an operator would use.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { upsertIdentity } from '../../../store/identities.js';
import { formatKeyEntry } from '../../../crypto/keyring.js';
import { generateSigningSeed } from '../../../store/signing.js';
import { loadStoreKeys } from '../../../store/store-keys.js';
import { runAuditCli } from './run-audit-cli.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const saved = { ...process.env };
let t: TestStore;

beforeAll(async () => {
  const env = {
    PROVISIONER_AUDIT_SIGNING_KEY: formatKeyEntry({ id: 'cli-test', material: generateSigningSeed() }),
    PROVISIONER_STORE_KEK: formatKeyEntry({ id: 'cli-kek', material: randomBytes(32) }),
  };
  const keys = loadStoreKeys({ dataDir: '/nonexistent', env });
  t = await createTestStore('cli', { keys });
  Object.assign(process.env, env, { PROVISIONER_STORE_SCHEMA: t.schema, PROVISIONER_AUDIT_CHECKPOINTS: t.checkpointsFile });
  for (let i = 0; i < 12; i += 1) {
    await t.store.audit({ actor: { type: 'person', employeeId: `OPS${tag}` }, action: 'grant.added', reason: `grant ${i}`, subject: { employeeId: `E${i % 3}${tag}` }, changes: [{ op: 'grant', app: i % 2 ? 'crm' : 'wiki', entitlement: 'reader' }] });
  }
});
afterAll(async () => {
  process.env = saved;
  await t?.drop();
});
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const run = runAuditCli;

describe('provisioner audit', () => {
  it('checkpoint, then verify: exit 0 with the count of records verified', async () => {
    expect((await run('audit', 'checkpoint')).out).toMatch(/audit checkpoint: seq 12 head [0-9a-f]{16}/);
    const { out, exitCode } = await run('audit', 'verify');
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^audit verify: 12 records verified; head seq 12 .*1 checkpoint\(s\) matched/);
  });

  it('query by employee, app and actor, as a table and as JSON', async () => {
    const table = await run('audit', 'query', '--employee', `E1${tag}`, '--app', 'crm');
    expect(table.out.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+SUBJECT\s+APPS\s+REASON/);
    expect(table.out).toContain(`OPS${tag}`);
    expect(table.out).toMatch(/audit query: 2 record\(s\)/);
    const json = await run('audit', 'query', '--actor', `OPS${tag}`, '--since', '1h', '--json', '--limit', '5', '--asc');
    const rows = json.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]).toMatchObject({ actorEmployeeId: `OPS${tag}`, subjectEmployeeId: `E0${tag}`, action: 'grant.added' });
    expect((await run('audit', 'query', '--employee', 'NOBODY')).out).toContain('no records match');
  });

  it('purge reports who was purged, and the chain still verifies', async () => {
    const employeeId = `GONE${tag}`;
    await t.store.change(
      (tx) => upsertIdentity(tx, { employeeId, sequence: 1, effectiveAt: '2020-01-01T00:00:00Z', status: 'terminated', givenName: 'Gone' }),
      { actor: { type: 'system', id: 'identity-workflow' }, action: 'identity.snapshot-stored', reason: 'terminated', subject: { employeeId } },
    );
    expect((await run('audit', 'purge', '--retention-days', '365')).out).toMatch(/audit purge: 1 person\(s\) purged/);
    expect(await run('audit', 'verify')).toMatchObject({ exitCode: 0, out: expect.stringMatching(/^audit verify: 14 records verified/) });
  });

  it('verify exits 1 naming the first bad record', async () => {
    await t.tamper('delete from audit_records where seq = 7');
    const { out, exitCode } = await run('audit', 'verify');
    expect(exitCode).toBe(1);
    expect(out).toMatch(/^audit verify: FAILED at record 7 \(missing\): record 7 is missing/);
    expect(out).toMatch(/6 records verified before it/);
    const json = JSON.parse((await run('audit', 'verify', '--json')).out);
    expect(json).toMatchObject({ ok: false, problem: { seq: 7, kind: 'missing' } });
  });
});
