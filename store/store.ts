// The store as the rest of the system sees it. Writes happen only inside `change`, whose
// transaction commits the change and its audit record together or neither: a store change without
// its audit record cannot be expressed (the StoreTx that the write functions demand exists only
// inside `change`). Changes made elsewhere (a connector call) go through `step`, which records the
// intent before acting and the result after, and does not act when the intent cannot be recorded.
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { createAuditBatcher } from './audit-batcher.js';
import { appendAuditRecord, appendAuditRecords, type AuditContext } from './audit-chain.js';
import type { AppendedRecord, AuditEntry } from './audit-record.js';
import { inTransaction } from './db.js';
import type { StoreKeys, KeyEncryptionKeys } from './store-keys.js';

declare const txBrand: unique symbol;

/** A transaction opened by `Store.change`: the only way to get one, so writes are always audited. */
export type StoreTx = {
  readonly client: pg.PoolClient;
  readonly kek: KeyEncryptionKeys | undefined;
  readonly [txBrand]: true;
};

export type AuditedStep<T> = {
  /** Stable across retries, e.g. `${workflowId}/${changeId}/${step}/${app}`: a retry does not repeat the records. */
  key: string;
  /** Recorded before acting; if it cannot be recorded, nothing is done. */
  intent: AuditEntry;
  /** Recorded after acting, from the result. */
  done: (result: T) => AuditEntry;
  /** Recorded when acting failed (then the error is rethrown). */
  failed?: (err: unknown) => AuditEntry;
};

export type Store = {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly keys: StoreKeys;
  readonly logger: Logger | undefined;
  /** Where signed checkpoints of the head go (outside the database). */
  readonly checkpointsFile: string | undefined;
  /**
   * Runs `fn` and appends the audit record in one transaction. `entry` may be computed from fn's
   * result; returning null declares that fn changed nothing (then no record is written).
   */
  change<T>(fn: (tx: StoreTx) => Promise<T>, entry: AuditEntry | ((result: T) => AuditEntry | null)): Promise<{ result: T; record: AppendedRecord | null }>;
  /** As `change`, for a change that several audit records describe (a group of fence permits): all are appended in its transaction, in order. */
  changeMany<T>(fn: (tx: StoreTx) => Promise<T>, entries: (result: T) => AuditEntry[]): Promise<{ result: T; records: AppendedRecord[] }>;
  /**
   * A record that accompanies no store change (an ignored event, a refused approval attempt).
   * Concurrent calls are committed together (group commit); each resolves once its record is durable.
   */
  audit(entry: AuditEntry): Promise<AppendedRecord>;
  /** An external change (a connector call) between its intent and result records. */
  step<T>(step: AuditedStep<T>, perform: () => Promise<T>): Promise<T>;
  /** Closes the pool if the store opened it. */
  close(): Promise<void>;
};

export type CreateStoreOptions = {
  pool: pg.Pool;
  schema: string;
  keys: StoreKeys;
  logger?: Logger;
  checkpointsFile?: string;
  /** Whether close() ends the pool (true when the store created it). */
  ownsPool?: boolean;
};

export function createStore(options: CreateStoreOptions): Store {
  const { pool, keys, logger } = options;
  const ctx: AuditContext = { signer: keys.signer, kek: keys.kek };
  const batcher = createAuditBatcher(pool, ctx);

  const store: Store = {
    pool,
    schema: options.schema,
    keys,
    logger,
    checkpointsFile: options.checkpointsFile,
    async change(fn, entry) {
      return inTransaction(pool, async (client) => {
        const result = await fn({ client, kek: keys.kek } as StoreTx);
        const resolved = typeof entry === 'function' ? entry(result) : entry;
        const record = resolved === null ? null : await appendAuditRecord(client, ctx, resolved);
        return { result, record };
      });
    },
    async changeMany(fn, entries) {
      return inTransaction(pool, async (client) => {
        const result = await fn({ client, kek: keys.kek } as StoreTx);
        const resolved = entries(result);
        const records = resolved.length === 0 ? [] : await appendAuditRecords(client, ctx, resolved);
        return { result, records };
      });
    },
    async audit(entry) {
      return batcher.append(entry);
    },
    async step(step, perform) {
      await store.audit({ ...step.intent, idempotencyKey: `${step.key}#intent` });
      let result: Awaited<ReturnType<typeof perform>>;
      try {
        result = await perform();
      } catch (err) {
        if (step.failed) {
          try {
            await store.audit(step.failed(err));
          } catch (auditErr) {
            // The intent record already says the change was attempted; the step's own error is the one to surface.
            logger?.error({ err: (auditErr as Error).message, stepKey: step.key }, 'audit: could not record a failed step');
          }
        }
        throw err;
      }
      // If this fails the activity fails and is retried: the connector call is idempotent and the
      // intent record is not repeated, so the retry completes the pair.
      await store.audit({ ...step.done(result), idempotencyKey: `${step.key}#done` });
      return result;
    },
    async close() {
      if (options.ownsPool) await pool.end();
    },
  };
  return store;
}
