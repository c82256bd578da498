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

/**
 * The audit chain's tables and what the runtime role may do to each: the append path reads and
 * locks the head (`select ... for update` needs UPDATE) and inserts records and dedupe keys; the
 * publisher moves its cursor. Nothing else: no UPDATE or DELETE of a record, no TRUNCATE. A person's
 * dedupe keys go with their identity by the foreign key's cascade, which runs as the table's owner.
 * A new append-only table belongs in this list.
 */
export const runtimeAuditGrants: Readonly<Record<string, string>> = {
  audit_records: 'select, insert',
  audit_dedupe: 'select, insert',
  audit_head: 'select, update',
  audit_publication: 'select, update',
  schema_migrations: 'select',
};

/** A role name as an SQL identifier. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * The owner (the role running this) grants the runtime role what the store needs and no more:
 * USAGE on the schema (not CREATE), SELECT/INSERT/UPDATE/DELETE on its tables except the audit
 * chain's (runtimeAuditGrants), USAGE/SELECT on its sequences, and the same by default on what later
 * migrations create. Not being the owner, the runtime role cannot drop or disable the audit chain's
 * triggers, alter a table, or truncate. Idempotent.
 */
async function grantRuntimeRole(client: pg.PoolClient, schema: string, runtimeRole: string): Promise<void> {
  const role = quoteIdent(runtimeRole);
  await client.query(`revoke all on schema ${schema} from ${role}`);
  await client.query(`grant usage on schema ${schema} to ${role}`);
  await client.query(`revoke all on all tables in schema ${schema} from ${role}`);
  await client.query(`grant select, insert, update, delete on all tables in schema ${schema} to ${role}`);
  for (const [table, privileges] of Object.entries(runtimeAuditGrants)) {
    await client.query(`revoke all on ${schema}.${table} from ${role}`);
    await client.query(`grant ${privileges} on ${schema}.${table} to ${role}`);
  }
  await client.query(`grant usage, select on all sequences in schema ${schema} to ${role}`);
  await client.query(`alter default privileges in schema ${schema} grant select, insert, update, delete on tables to ${role}`);
  await client.query(`alter default privileges in schema ${schema} grant usage, select on sequences to ${role}`);
}

export type MigrateOptions = {
  schema?: string;
  dir?: string;
  /**
   * The runtime role, when `pool` connects as another role (the owner): after migrating, the owner
   * grants it what the store needs (grantRuntimeRole). Unset, or the pool's own role: no grants.
   */
  runtimeRole?: string;
};

/** Brings `schema` (created if missing) up to date. `pool` must use that schema as its search_path. */
export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = assertSchemaName(options.schema ?? 'public');
  const migrations = loadMigrations(options.dir);
  return inTransaction(pool, async (client) => {
    // Transaction-scoped: released by commit or rollback, even if this process dies.
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`provisioner.store.migrate:${schema}`]);
    const { rows: [me] } = await client.query<{ role: string }>('select current_user as role');
    // Created only when missing (not `if not exists`, which checks the CREATE privilege first): a
    // runtime role that is not the owner finds an up-to-date schema with nothing to do.
    const { rows: [found] } = await client.query<{ schema: boolean; table: boolean }>(
      `select exists (select 1 from pg_namespace where nspname = $1) as schema, to_regclass($2) is not null as table`, [schema, `${schema}.schema_migrations`]);
    const refused = (err: unknown) => {
      if ((err as { code?: string }).code !== '42501') return err;
      return new MigrationError(`role "${me!.role}" may not migrate the store's schema ${schema} (${(err as Error).message}); run \`provisioner store migrate\` as its owner (postgres.ownerUrl, DATABASE_OWNER_URL)`, { cause: err });
    };
    // The name passed assertSchemaName, so splicing it is safe.
    if (!found!.schema) await client.query(`create schema ${schema}`).catch((err: unknown) => { throw refused(err); });
    if (!found!.table) {
      await client.query(`create table ${schema}.schema_migrations (
        version text primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`).catch((err: unknown) => { throw refused(err); });
    }
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
      await client.query(m.sql).catch((err: unknown) => { throw refused(err); });
      await client.query(`insert into ${schema}.schema_migrations (version, name, checksum) values ($1, $2, $3)`, [m.version, m.name, m.checksum]);
      result.applied.push(m.name);
    }
    if (options.runtimeRole && options.runtimeRole !== me!.role) await grantRuntimeRole(client, schema, options.runtimeRole);
    return result;
  });
}
