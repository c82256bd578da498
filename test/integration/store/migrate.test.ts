// Migrations: idempotent, safe when several processes start at once, and append-only.
import { cpSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../../schemas/config.js';
import { createStorePool } from '../../../store/db.js';
import { loadMigrations, migrate, migrationsDir, MigrationError } from '../../../store/migrate.js';
import { cfg, uniqueSchema } from './test-store.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function poolFor(schema: string) {
  const pool = createStorePool(databaseUrl(cfg), { schema, max: 2 });
  cleanups.push(async () => {
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  });
  return pool;
}

describe('store migrations', () => {
  it('apply once into a new schema; a second run applies nothing', async () => {
    const schema = uniqueSchema('migrate');
    const pool = poolFor(schema);
    const all = loadMigrations().map((m) => m.name);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(await migrate(pool, { schema })).toEqual({ applied: all, alreadyApplied: [] });
    expect(await migrate(pool, { schema })).toEqual({ applied: [], alreadyApplied: all });
    const { rows } = await pool.query('select version from schema_migrations order by version');
    expect(rows.map((r) => r.version)).toEqual(all.map((n) => n.slice(0, 3)));
  });

  it('six processes starting at once apply each migration exactly once', async () => {
    const schema = uniqueSchema('migrate');
    const pools = Array.from({ length: 6 }, () => createStorePool(databaseUrl(cfg), { schema, max: 1 }));
    cleanups.push(async () => {
      await pools[0]!.query(`drop schema if exists ${schema} cascade`);
      await Promise.all(pools.map((p) => p.end()));
    });
    const results = await Promise.all(pools.map((pool) => migrate(pool, { schema })));
    const appliers = results.filter((r) => r.applied.length > 0);
    expect(appliers).toHaveLength(1);
    expect(results.filter((r) => r.applied.length === 0 && r.alreadyApplied.length === appliers[0]!.applied.length)).toHaveLength(5);
    const { rows } = await pools[0]!.query('select count(*)::int as n from audit_head');
    expect(rows[0].n).toBe(1);
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    cpSync(migrationsDir, dir, { recursive: true });
    const schema = uniqueSchema('migrate');
    const pool = poolFor(schema);
    await migrate(pool, { schema, dir });
    appendFileSync(path.join(dir, '001_governance.sql'), '\n-- an edit after the fact\n');
    await expect(migrate(pool, { schema, dir })).rejects.toThrow(MigrationError);
  });
});
