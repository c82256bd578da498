// Every audit record is produced to `provisioning.audit` at least once. The chain is its own
// outbox: records commit strictly in seq order (appends serialise on the head row), so a cursor
// "published up to seq N" kept in the database is enough: the publisher produces the records after
// N, waits for the brokers' acknowledgement (acks=all), then moves the cursor. A crash between the
// two produces those records again on restart, which is why each message carries its record id
// (header `record-id`, and in the value) for the consumer to deduplicate. Produce-after-commit from
// the appending process alone would lose the records of a process that dies in between; a separate
// outbox table would double the writes on the append path for nothing.
import type pg from 'pg';
import type { Config } from '../schemas/config.js';
import type { Logger } from '../observability/logger.js';
import { createKafka, type Producer } from '../kafka/client.js';
import { inTransaction } from './db.js';

export type AuditMessage = { key: string; value: string; headers: Record<string, string> };

/** Where records go; Kafka in production, anything in tests. send() resolves once they are durable. */
export type AuditSink = { send(messages: AuditMessage[]): Promise<void>; close(): Promise<void> };

export async function createKafkaAuditSink(cfg: Config, options: { topic?: string; logger?: Logger } = {}): Promise<AuditSink> {
  const topic = options.topic ?? cfg.kafka.topics.audit;
  // Idempotent producer: the broker drops its own retries' duplicates; ours are deduped by record id.
  const producer: Producer = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-audit`, ...(options.logger ? { logger: options.logger } : {}) })
    .producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    async send(messages) {
      await producer.send({ topic, acks: -1, messages });
    },
    close: () => producer.disconnect(),
  };
}

type OutboxRow = { seq: string; record_id: string; hash: string; body: string; signature: string; subject: string | null };

/** The message for one record: the exact signed body, so a SIEM can re-verify hash and signature. */
function toMessage(row: OutboxRow): AuditMessage {
  return {
    // Keyed by the subject's pseudonym, so one person's records stay in order on one partition.
    key: row.subject ?? row.record_id,
    value: JSON.stringify({ recordId: row.record_id, seq: Number(row.seq), hash: row.hash, signature: row.signature, body: row.body }),
    headers: { 'record-id': row.record_id, seq: row.seq, 'ce-type': 'provisioning.audit.record' },
  };
}

/**
 * Produces every record not yet published, batch by batch, and returns how many were sent. Returns
 * 0 at once if another publisher holds the cursor (only one produces at a time).
 */
export async function publishPendingAuditRecords(pool: pg.Pool, sink: AuditSink, options: { batchSize?: number } = {}): Promise<number> {
  let total = 0;
  for (;;) {
    const sent = await inTransaction(pool, async (client) => {
      const cursor = await client.query<{ published_seq: string }>('select published_seq from audit_publication for update skip locked');
      if (!cursor.rows[0]) return 0;
      const { rows } = await client.query<OutboxRow>(
        'select seq, record_id, hash, body, signature, subject from audit_records where seq > $1 order by seq limit $2',
        [cursor.rows[0].published_seq, options.batchSize ?? 500],
      );
      if (rows.length === 0) return 0;
      await sink.send(rows.map(toMessage));
      await client.query('update audit_publication set published_seq = $1, updated_at = now()', [rows[rows.length - 1]!.seq]);
      return rows.length;
    });
    total += sent;
    if (sent === 0) return total;
  }
}

/** Polls and publishes until stopped; a failed round is retried on the next tick. */
export function startAuditPublisher(
  pool: pg.Pool,
  sink: AuditSink,
  options: { intervalMs?: number; batchSize?: number; logger?: Logger } = {},
): { stop(): Promise<void> } {
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  const tick = (): void => {
    round = round.then(async () => {
      if (stopped) return;
      try {
        await publishPendingAuditRecords(pool, sink, options);
      } catch (err) {
        options.logger?.warn({ err: (err as Error).message }, 'audit: publishing to Kafka failed; retrying');
      }
    });
  };
  const timer = setInterval(tick, options.intervalMs ?? 500);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await round;
      stopped = true;
    },
  };
}

/** How far publication lags the chain, for health checks and metrics. */
export async function publicationLag(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ lag: string }>('select (select seq from audit_head) - (select published_seq from audit_publication) as lag');
  return Number(rows[0]?.lag ?? 0);
}
