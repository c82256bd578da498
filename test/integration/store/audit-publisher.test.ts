// Every audit record reaches Kafka at least once, with a stable record id for deduplication, even
// when the publisher dies between producing and moving its cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, type Consumer } from '../../../kafka/client.js';
import { sha256 } from '../../../store/audit-chain.js';
import { createKafkaAuditSink, publicationLag, publishPendingAuditRecords, startAuditPublisher, type AuditSink } from '../../../store/audit-publisher.js';
import { ensureTopics } from '../../../stack/kafka.js';
import { uniqueName } from '../../helpers/unique.js';
import { cfg, createTestStore, type TestStore } from './test-store.js';

type Received = { key: string; recordId: string; headerId: string; value: { recordId: string; seq: number; hash: string; signature: string; body: string } };

const topic = uniqueName('audit');
const kafka = createKafka(cfg);
let t: TestStore;
let consumer: Consumer;
const received: Received[] = [];

beforeAll(async () => {
  t = await createTestStore('publisher');
  // ensureTopics waits for every partition's leader itself: kafkajs' waitForLeaders gives up on a
  // broker that answers UNKNOWN_TOPIC_OR_PARTITION for a moment after the create.
  await ensureTopics({ ...cfg, kafka: { ...cfg.kafka, partitions: 3 } }, [topic]);
  consumer = kafka.consumer({ groupId: uniqueName('audit-siem') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = JSON.parse(message.value!.toString());
      received.push({ key: message.key!.toString(), recordId: value.recordId, headerId: String(message.headers?.['record-id']), value });
    },
  });
});
afterAll(async () => {
  await consumer?.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await t?.drop();
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function append(n: number, from: number): Promise<void> {
  for (let i = from; i < from + n; i += 1) {
    await t.store.audit({ actor: { type: 'system', id: 'identity-workflow' }, action: 'grant.added', reason: `record ${i}`, subject: { employeeId: `P${i % 5}` }, changes: [{ op: 'grant', app: 'crm' }] });
  }
}

const uniqueIds = (): Set<string> => new Set(received.map((r) => r.recordId));

describe('publishing the audit chain to Kafka', () => {
  it('a publisher that dies after producing re-sends on restart: every record arrives, duplicates carry the same record id', async () => {
    await append(50, 1);
    const sink = await createKafkaAuditSink(cfg, { topic });
    // Produces for real, then "crashes" before the cursor can move.
    const dying: AuditSink = { send: async (m) => { await sink.send(m); throw new Error('killed after produce'); }, close: async () => undefined };
    await expect(publishPendingAuditRecords(t.store.pool, dying, { batchSize: 20 })).rejects.toThrow('killed after produce');
    expect(await publicationLag(t.store.pool)).toBe(50);

    expect(await publishPendingAuditRecords(t.store.pool, sink, { batchSize: 20 })).toBe(50);
    expect(await publicationLag(t.store.pool)).toBe(0);
    await waitFor('70 messages', () => received.length >= 70);
    expect(received).toHaveLength(70);

    const { rows } = await t.store.pool.query<{ record_id: string; subject: string }>('select record_id, subject from audit_records order by seq');
    expect(uniqueIds()).toEqual(new Set(rows.map((r) => r.record_id)));
    // Each message is the signed record itself: a SIEM can re-check hash and signature.
    for (const r of received) {
      expect(r.headerId).toBe(r.recordId);
      expect(sha256(r.value.body)).toBe(r.value.hash);
      expect(t.store.keys.verifier.verify('record', JSON.parse(r.value.body).keyId, r.value.hash, r.value.signature)).toBe(true);
      expect(r.key).toBe(rows.find((row) => row.record_id === r.recordId)!.subject);
    }
    await sink.close();
  });

  it('the running publisher produces new records as they are appended', async () => {
    const sink = await createKafkaAuditSink(cfg, { topic });
    const publisher = startAuditPublisher(t.store.pool, sink, { intervalMs: 100 });
    try {
      await append(10, 51);
      await waitFor('60 distinct records', () => uniqueIds().size >= 60);
      await waitFor('publication caught up', async () => (await publicationLag(t.store.pool)) === 0);
    } finally {
      await publisher.stop();
      await sink.close();
    }
    expect(uniqueIds().size).toBe(60);
  });
});
