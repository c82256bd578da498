// Applies store/migrations/NNN_name.sql in order, once each, recording them in schema_migrations.
// Safe to call from every process at start-up: one transaction under an advisory lock per schema,
// so concurrent starters wait for each other and the second finds nothing left to do. An applied
// migration whose file has since changed is refused: migrations are append-only too.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../schemas/config.js';
import { assertSchemaName, inTransaction } from './db.js';

// Resolved from the project root rather than this file, because tsc does not copy .sql into dist/.
export const migrationsDir = path.join(projectRoot, 'store', 'migrations');

const FILE = /^(\d{3})_[a-z0-9_-]+\.sql$/;

export type Migration = { version: string; name: string; sql: string; checksum: string };

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function loadMigrations(dir: string = migrationsDir): Migration[] {
  const files = readdirSync(dir).filter((f) => FILE.test(f)).sort();
  const migrations = files.map((name) => {
    const sql = readFileSync(path.join(dir, name), 'utf8');
    return { version: FILE.exec(name)![1]!, name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  const versions = migrations.map((m) => m.version);
  const dup = versions.find((v, i) => versions.indexOf(v) !== i);
  if (dup) throw new MigrationError(`two migrations in ${dir} share the version ${dup}`);
  return migrations;
}

export type MigrateResult = { applied: string[]; alreadyApplied: string[] };

/** Brings `schema` (created if missing) up to date. `pool` must use that schema as its search_path. */
export async function migrate(pool: pg.Pool, options: { schema?: string; dir?: string } = {}): Promise<MigrateResult> {
  const schema = assertSchemaName(options.schema ?? 'public');
  const migrations = loadMigrations(options.dir);
  return inTransaction(pool, async (client) => {
    // Transaction-scoped: released by commit or rollback, even if this process dies.
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`provisioner.store.migrate:${schema}`]);
    // The name passed assertSchemaName, so splicing it is safe.
    await client.query(`create schema if not exists ${schema}`);
    await client.query(`create table if not exists ${schema}.schema_migrations (
      version text primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
      `select version, name, checksum from ${schema}.schema_migrations`,
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const m of migrations) {
      const previous = done.get(m.version);
      if (previous) {
        if (previous.checksum !== m.checksum) {
          throw new MigrationError(`migration ${m.name} was applied as ${previous.name} with different content; add a new migration instead of editing an applied one`);
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      await client.query(m.sql);
      await client.query(`insert into ${schema}.schema_migrations (version, name, checksum) values ($1, $2, $3)`, [m.version, m.name, m.checksum]);
      result.applied.push(m.name);
    }
    return result;
  });
}
