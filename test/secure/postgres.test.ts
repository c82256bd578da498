// The store on the secured local PostgreSQL (examples/secure-stack.yaml): TLS verified against the
// development CA, SCRAM passwords from files, the schema migrated by the owner role and used by a
// runtime role that can append to the audit chain but not change it. The server is started here
// if it is not running, and left running for the next file (`stack down --secure postgres` stops it).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerConnection, projectRoot, runtimeConnection, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';
import { ensureDevPki } from '../../stack/dev-pki.js';
import { verifyAuditChain } from '../../store/audit-verify.js';
import { openStore } from '../../store/open-store.js';
import { pgClientConfig } from '../../store/postgres-connection.js';
import type { Store } from '../../store/store.js';
import { secureStackConfig } from '../helpers/secure-stack.js';
import { uniqueName } from '../helpers/unique.js';

const secure = secureStackConfig();
// A schema of this run's own, so repeated and parallel runs never share the chain.
const schema = uniqueName('sec').toLowerCase().replace(/[^a-z0-9_]/g, '_');
const cfg: Config = { ...secure, postgres: { ...secure.postgres, schema } };
const tmp = mkdtempSync(path.join(tmpdir(), 'secure-postgres-'));
const withPostgres = (postgres: Partial<Config['postgres']>): Config => ({ ...cfg, postgres: { ...cfg.postgres, ...postgres } });

/** Opens the store the way the worker does: migrations as the owner, then the runtime role. */
const open = (c: Config = cfg) => openStore(c, { migrate: true, createKeys: true, env: {} });

let store: Store;

beforeAll(async () => {
  store = await open();
});

// The CLI's own schema (`store migrate`).
const cliSchema = `${schema}_cli`;

afterAll(async () => {
  await store?.close();
  const owner = new pg.Client(pgClientConfig(ownerConnection(cfg)!));
  await owner.connect();
  for (const s of [schema, cliSchema]) await owner.query(`drop schema if exists ${s} cascade`);
  await owner.end();
});

/** Runs the built CLI (dist/) on the secured stack's configuration, nothing else from this environment. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(projectRoot, 'bin', 'provisioner.js'), ...args],
      { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PROVISIONER_CONFIG: SECURE_STACK_CONFIG, PROVISIONER_STORE_SCHEMA: cliSchema, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

/** The failure of sql run as the runtime role. */
async function refusal(sql: string): Promise<{ code?: string; message: string }> {
  const err = await store.pool.query(sql).then(() => undefined, (e: unknown) => e as { code?: string; message: string });
  expect(err, `${sql} should have failed`).toBeDefined();
  return err!;
}

describe('the store on the secured PostgreSQL', () => {
  it('runs as the runtime role over verified TLS, in a schema the owner role migrated and owns, and appends to the audit chain', async () => {
    const { rows: [session] } = await store.pool.query<{ role: string; ssl: boolean; owner: string }>(
      `select current_user as role, s.ssl, n.nspowner::regrole::text as owner
         from pg_stat_ssl s, pg_namespace n where s.pid = pg_backend_pid() and n.nspname = $1`, [schema]);
    expect(session).toEqual({ role: 'provisioner_app', ssl: true, owner: 'provisioner_owner' });
    const record = await store.audit({ actor: { type: 'system', id: 'secure-postgres-test' }, action: 'grant.added', reason: 'appended by the runtime role', subject: { employeeId: 'SEC1' }, changes: [{ op: 'grant', app: 'crm' }] });
    expect(record.seq).toBe(1);
    const verified = await verifyAuditChain(store.pool, { verifier: store.keys.verifier });
    expect(verified).toMatchObject({ ok: true, verified: 1 });
  });

  it('as the runtime role, the audit chain cannot be dropped, disabled, truncated, updated or deleted', async () => {
    for (const sql of [
      'drop trigger audit_records_no_change on audit_records',
      'alter table audit_records disable trigger audit_records_no_change',
      'alter table audit_records disable trigger all',
      'drop table audit_records',
    ]) expect((await refusal(sql)).message, sql).toMatch(/must be owner of (table|relation) audit_records/);
    for (const sql of ['truncate audit_records', "update audit_records set action = 'forged'", 'delete from audit_records', 'delete from audit_head', 'truncate audit_dedupe']) {
      const err = await refusal(sql);
      expect(err.code, sql).toBe('42501');
      // The privilege, not the append-only trigger, refused it.
      expect(err.message, sql).toMatch(/permission denied for table audit_(records|head|dedupe)/);
    }
    // Nor can it switch the triggers off for its session, as a superuser could.
    expect((await refusal('set session_replication_role = replica')).message).toMatch(/permission denied to set parameter/);
    // And it cannot create tables of its own in the store's schema.
    expect((await refusal('create table sneaky (x int)')).message).toMatch(/permission denied for schema/);
  });

  it('without the owner settings, the runtime role finds an up-to-date schema with nothing to do, and may not create one', async () => {
    const runtimeOnly = withPostgres({ ownerUrl: undefined, ownerPasswordFile: undefined });
    const again = await open(runtimeOnly);
    await again.close();
    await expect(open({ ...runtimeOnly, postgres: { ...runtimeOnly.postgres, schema: `${schema}_never` } })).rejects.toThrow(
      /^role "provisioner_app" may not migrate the store's schema sec_\w+_never \(permission denied for database provisioner\); run `provisioner store migrate` as its owner/,
    );
  });

  it('refuses a connection without TLS, and the store says so in one postgres: line', async () => {
    const plain = new pg.Client({ ...pgClientConfig(runtimeConnection(cfg)), ssl: false });
    const err = await plain.connect().then(() => undefined, (e: unknown) => e as { code?: string; message: string });
    await plain.end().catch(() => undefined);
    expect(err?.code).toBe('28000');
    expect(err?.message).toMatch(/no pg_hba\.conf entry .* no encryption/);
    await expect(open(withPostgres({ tls: { mode: 'disable' } }))).rejects.toThrow(
      /^postgres: the server refuses connections without TLS for role "provisioner_app" at localhost:15433\/provisioner; check postgres\.tls\.mode \(POSTGRES_SSLMODE\)/,
    );
  });

  it('a wrong password fails with one postgres: line naming the role and the setting, never the password', async () => {
    const wrong = path.join(tmp, 'wrong-password');
    writeFileSync(wrong, 'not-the-password-0123\n');
    for (const [c, role, setting] of [
      [withPostgres({ passwordFile: wrong }), 'provisioner_app', 'postgres.passwordFile (DATABASE_PASSWORD_FILE)'],
      [withPostgres({ ownerPasswordFile: wrong }), 'provisioner_owner', 'postgres.ownerPasswordFile (DATABASE_OWNER_PASSWORD_FILE)'],
    ] as const) {
      const err = await open(c).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message).toMatch(new RegExp(`^postgres: password authentication failed for role "${role}" at localhost:15433/provisioner; check ${setting.replace(/[().]/g, '\\$&')}`));
      expect(err?.message).not.toContain('not-the-password-0123');
      expect(err?.message).not.toContain('\n');
    }
  });

  it('`provisioner store migrate` migrates as the owner and grants the runtime role; a wrong password is its one postgres: line', async () => {
    if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    const migrated = await cli(['store', 'migrate']);
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toMatch(new RegExp(`^store: schema ${cliSchema} migrated as role "provisioner_owner": \\d+ applied .*; role "provisioner_app" granted the runtime privileges`));
    const wrong = path.join(tmp, 'wrong-owner-password');
    writeFileSync(wrong, 'not-the-owner-password-42\n');
    const refused = await cli(['store', 'migrate'], { DATABASE_OWNER_PASSWORD_FILE: wrong });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      'provisioner: postgres: password authentication failed for role "provisioner_owner" at localhost:15433/provisioner; check postgres.ownerPasswordFile (DATABASE_OWNER_PASSWORD_FILE) or the password in postgres.ownerUrl (DATABASE_OWNER_URL)',
    ]);
  });

  it('a server certificate from another CA is not trusted', async () => {
    const other = ensureDevPki(path.join(tmp, 'other-pki'), { name: 'Some Other CA' });
    await expect(open(withPostgres({ tls: { mode: 'verify-full', caFile: other.caFile } }))).rejects.toThrow(
      /^postgres: the server's certificate is not trusted \([A-Z_]+\) for role "provisioner_app" at localhost:15433\/provisioner; check postgres\.tls\.mode/,
    );
  });
});
