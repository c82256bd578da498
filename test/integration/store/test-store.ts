// A store of its own for each test: a fresh PostgreSQL schema (migrated), fresh keys in memory and a
// checkpoint file in a temporary folder, so test files run in parallel beside each other and beside
// a running demo without sharing a row. drop() removes all of it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, loadConfig } from '../../../schemas/config.js';
import { createStorePool } from '../../../store/db.js';
import { migrate } from '../../../store/migrate.js';
import { createSigner, createVerifier, generateSigningSeed, type AuditSigner } from '../../../store/signing.js';
import { createStore, type Store } from '../../../store/store.js';
import type { StoreKeys } from '../../../store/store-keys.js';
import { uniqueName } from '../../helpers/unique.js';

export const cfg = loadConfig();

export type TestStore = {
  store: Store;
  schema: string;
  signer: AuditSigner;
  checkpointsFile: string;
  /** A connection that bypasses the append-only triggers, as an attacker with superuser rights would. */
  tamper(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
};

export function testKeys(): { keys: StoreKeys; signer: AuditSigner } {
  const signer = createSigner('test-signing', generateSigningSeed());
  return {
    signer,
    keys: {
      signer,
      verifier: createVerifier([{ id: signer.keyId, publicKey: signer.publicKey }]),
      kek: { activeId: 'test-kek', keys: new Map([['test-kek', randomBytes(32)]]) },
    },
  };
}

export function uniqueSchema(label: string): string {
  return uniqueName(`t_${label}`).toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export async function createTestStore(label: string, options: { poolMax?: number; keys?: StoreKeys } = {}): Promise<TestStore> {
  const schema = uniqueSchema(label);
  const pool = createStorePool(databaseUrl(cfg), { schema, max: options.poolMax ?? 10 });
  await migrate(pool, { schema });
  const generated = testKeys();
  const keys = options.keys ?? generated.keys;
  const dir = mkdtempSync(path.join(tmpdir(), `${schema}-`));
  const checkpointsFile = path.join(dir, 'checkpoints.jsonl');
  const store = createStore({ pool, schema, keys, checkpointsFile, ownsPool: true });
  return {
    store,
    schema,
    signer: keys.signer!,
    checkpointsFile,
    async tamper(sql, params = []) {
      const client = await pool.connect();
      try {
        await client.query('set session_replication_role = replica');
        return await client.query(sql, params);
      } finally {
        await client.query('set session_replication_role = origin');
        client.release();
      }
    },
    async drop() {
      await pool.query(`drop schema if exists ${schema} cascade`);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
