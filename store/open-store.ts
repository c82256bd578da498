// Opening the store from the configuration, for composition roots (worker, API, CLI): the pool on
// the runtime role's connection (postgres.url or the local stack's server, its password file and
// TLS), the store schema (postgres.schema) and checkpoint file (audit.checkpointsFile) from the
// config, the keys from the environment (see store-keys.ts), optionally migrating first: as the
// owner role (postgres.ownerUrl) when there is one, which then grants the runtime role its share.
import { ownerConnection, runtimeConnection, type Config, type PostgresConnection } from '../schemas/config.js';
import type { Logger } from '../observability/logger.js';
import { createStorePool } from './db.js';
import { migrate, type MigrateResult } from './migrate.js';
import { postgresConnectionFailure, postgresTarget } from './postgres-connection.js';
import { createStore, type Store } from './store.js';
import { loadStoreKeys } from './store-keys.js';

export type OpenStoreOptions = {
  /** Where the keys are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Apply pending migrations (worker start-up). */
  migrate?: boolean;
  /** Generate missing default keys under <dataDir>/keys (only the local stack should; never in production mode). */
  createKeys?: boolean;
  poolMax?: number;
};

/** Runs fn; a connection failure becomes the one `postgres:` line naming the role, the server and the settings to check. */
async function naming<T>(connection: PostgresConnection, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw postgresConnectionFailure(err, connection) ?? err;
  }
}

/**
 * Applies pending migrations: as the owner role (postgres.ownerUrl) when there is one, which then
 * grants the runtime role (the user of postgres.url) its share; else as the runtime role itself.
 * The worker does this at start; `provisioner store migrate` does it alone (a deploy step).
 */
export async function migrateStore(cfg: Config, options: { logger?: Logger } = {}): Promise<MigrateResult> {
  const schema = cfg.postgres.schema;
  const runtime = runtimeConnection(cfg);
  const owner = ownerConnection(cfg);
  const connection = owner ?? runtime;
  const pool = createStorePool(connection, { schema, max: 1, applicationName: 'provisioner-migrate', ...(options.logger ? { logger: options.logger } : {}) });
  try {
    return await naming(connection, () => migrate(pool, { schema, ...(owner ? { runtimeRole: postgresTarget(runtime).user } : {}) }));
  } finally {
    await pool.end();
  }
}

export async function openStore(cfg: Config, options: OpenStoreOptions = {}): Promise<Store> {
  const schema = cfg.postgres.schema;
  const keys = loadStoreKeys({ dataDir: cfg.dataDir, ...(options.env ? { env: options.env } : {}), create: (options.createKeys ?? false) && cfg.mode === 'development' });
  const runtime = runtimeConnection(cfg);
  const logger = options.logger;
  if (cfg.postgres.tls.mode === 'require') logger?.warn('postgres: TLS without verifying the server (postgres.tls.mode require): anyone on the path can pose as it; use verify-full with postgres.tls.caFile');
  const pool = createStorePool(runtime, { schema, ...(options.poolMax ? { max: options.poolMax } : {}), ...(logger ? { logger } : {}) });
  try {
    // Connecting now, so a wrong password or certificate stops the start with its line, not the first write.
    await naming(runtime, () => pool.query('select 1'));
    if (options.migrate) await migrateStore(cfg, { ...(logger ? { logger } : {}) });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return createStore({ pool, schema, keys, checkpointsFile: cfg.audit.checkpointsFile, ownsPool: true, ...(logger ? { logger } : {}) });
}
