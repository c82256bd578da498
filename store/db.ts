// The connection pool and transactions. Every statement elsewhere in store/ is parameterised; the
// only identifier ever spliced into SQL is the schema name, and only after it passed SCHEMA_NAME.
import pg from 'pg';
import type { Logger } from '../observability/logger.js';

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
};

export function createStorePool(connectionString: string, options: StorePoolOptions = {}): pg.Pool {
  const schema = assertSchemaName(options.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: 'provisioner-store',
    // The schema goes in the startup packet, so no statement ever runs against the wrong one.
    options: `-c search_path=${schema}`,
  });
  // An idle client that loses its server emits here; without a listener the process would crash.
  // The next query simply takes a fresh connection.
  pool.on('error', (err) => options.logger?.warn({ err: err.message }, 'store: idle PostgreSQL connection failed'));
  return pool;
}

/** Runs fn in one transaction: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
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
    client.release(broken);
  }
}
