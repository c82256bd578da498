// The connection pool and transactions. Every statement elsewhere in store/ is parameterised; the
// only identifier ever spliced into SQL is the schema name, and only after it passed SCHEMA_NAME.
import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { postgresTlsModes, type PostgresConnection } from '../schemas/config.js';
import { pgClientConfig } from './postgres-connection.js';

/** Anything that runs a query: the pool or a client inside a transaction. */
export type Db = pg.Pool | pg.PoolClient;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError(`store schema "${schema}" must be a lower-case SQL identifier (letters, digits, "_"; at most 63)`);
  }
  return schema;
}

export type StorePoolOptions = {
  /** The PostgreSQL schema holding the store; every connection gets it as its search_path. */
  schema?: string;
  max?: number;
  logger?: Logger;
  /** Shown in pg_stat_activity (default provisioner-store). */
  applicationName?: string;
};

/**
 * The one factory of store pools: a configured connection (role, password file, TLS; see
 * runtimeConnection/ownerConnection in schemas/config.ts), or a plain URL without TLS (tests, the
 * local stack).
 */
export function createStorePool(connection: string | PostgresConnection, options: StorePoolOptions = {}): pg.Pool {
  const schema = assertSchemaName(options.schema ?? 'public');
  const config = pgClientConfig(typeof connection === 'string' ? plainConnection(connection) : connection);
  const pool = new pg.Pool({
    ...config,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'provisioner-store',
    // The schema goes in the startup packet, so no statement ever runs against the wrong one.
    options: [config.options, `-c search_path=${schema}`].filter(Boolean).join(' '),
  });
  // An idle client that loses its server emits here; without a listener the process would crash.
  // The next query simply takes a fresh connection.
  pool.on('error', (err) => options.logger?.warn({ err: err.message }, 'store: idle PostgreSQL connection failed'));
  return pool;
}

/** A URL as a connection: its own password, and its sslmode (default disable). */
export function plainConnection(url: string): PostgresConnection {
  const sslmode = new URL(url).searchParams.get('sslmode');
  const mode = postgresTlsModes.find((m) => m === sslmode) ?? 'disable';
  return { url, tls: { mode }, settings: { url: 'the connection URL', password: 'the password in the connection URL' } };
}

/** Runs fn in one transaction: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client has no pool listener: a server gone between two statements (a crash, an
  // immediate shutdown) would emit an unhandled 'error' and end the process. The transaction fails
  // at its next statement instead, and the connection is destroyed on release.
  const lost = (err: Error) => (broken = err);
  client.on('error', lost);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    try {
      await client.query('rollback');
    } catch (rollbackErr) {
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    // A connection whose rollback failed is in an unknown state: destroy it instead of reusing it.
    client.removeListener('error', lost);
    client.release(broken);
  }
}
