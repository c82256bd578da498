// Opening the store from the configuration, for composition roots (worker, API, CLI): the pool on
// DATABASE_URL (or the local stack's server), the store schema (postgres.schema) and checkpoint file
// (audit.checkpointsFile) from the config, the keys from the environment (see store-keys.ts),
// optionally migrating first.
import { databaseUrl, type Config } from '../schemas/config.js';
import type { Logger } from '../observability/logger.js';
import { createStorePool } from './db.js';
import { migrate } from './migrate.js';
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

export async function openStore(cfg: Config, options: OpenStoreOptions = {}): Promise<Store> {
  const schema = cfg.postgres.schema;
  const keys = loadStoreKeys({ dataDir: cfg.dataDir, ...(options.env ? { env: options.env } : {}), create: (options.createKeys ?? false) && cfg.mode === 'development' });
  const pool = createStorePool(databaseUrl(cfg), { schema, ...(options.poolMax ? { max: options.poolMax } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  try {
    if (options.migrate) await migrate(pool, { schema });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return createStore({ pool, schema, keys, checkpointsFile: cfg.audit.checkpointsFile, ownsPool: true, ...(options.logger ? { logger: options.logger } : {}) });
}
