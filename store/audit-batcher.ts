// Group commit for stand-alone audit records. Appends serialise on the chain's head, so one
// transaction per record caps a process at one record per few round trips however many activities
// run at once. Instead, while one batch is being written, later appends queue up, and the next
// transaction writes them all under a single acquisition of the lock. A caller's promise resolves
// only after the transaction holding its record has committed.
import type pg from 'pg';
import { appendAuditRecords, validateEntry, type AuditContext } from './audit-chain.js';
import type { AppendedRecord, AuditEntry } from './audit-record.js';
import { inTransaction } from './db.js';

type Pending = { entry: AuditEntry; resolve: (r: AppendedRecord) => void; reject: (err: unknown) => void };

export type AuditBatcher = { append(entry: AuditEntry): Promise<AppendedRecord> };

export function createAuditBatcher(pool: pg.Pool, ctx: AuditContext, options: { maxBatch?: number } = {}): AuditBatcher {
  const maxBatch = options.maxBatch ?? 256;
  const queue: Pending[] = [];
  let flushing = false;

  const writeAlone = async (p: Pending): Promise<void> => {
    try {
      p.resolve((await inTransaction(pool, (client) => appendAuditRecords(client, ctx, [p.entry])))[0]!);
    } catch (err) {
      p.reject(err);
    }
  };

  const flush = async (): Promise<void> => {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        if (batch.length === 1) {
          await writeAlone(batch[0]!);
          continue;
        }
        try {
          const results = await inTransaction(pool, (client) => appendAuditRecords(client, ctx, batch.map((p) => p.entry)));
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch {
          // One entry's trouble (say, its subject was purged meanwhile) must not fail the others:
          // nothing of the batch was committed, so write each on its own and let each succeed or fail.
          for (const p of batch) await writeAlone(p);
        }
      }
    } finally {
      flushing = false;
    }
  };

  return {
    append(entry) {
      // A malformed entry fails its caller at once, never a batch.
      validateEntry(entry);
      return new Promise<AppendedRecord>((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
