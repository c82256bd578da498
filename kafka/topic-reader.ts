// Reads a topic from given offsets up to its end as of now, then stops: for `dlq list | redrive`
// and for `audit verify` reading the checkpoints on the audit topic.
import type { Admin, Kafka, KafkaMessage } from './client.js';

export type ReadMessage = { partition: number; message: KafkaMessage };

/** The committed offsets of a consumer group on a topic (partitions it never committed are absent). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await committedOffsetsWith(admin, groupId, topic);
  } finally {
    await admin.disconnect();
  }
}

/** The same, on an admin client the caller keeps connected. */
export async function committedOffsetsWith(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, BigInt(p.offset)]));
}

/** Every message of `topic` from `from` (per partition; earliest when absent) to the current end. */
export async function readToEnd(kafka: Kafka, topic: string, from: Map<number, bigint> = new Map(), timeoutMs = 30_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const wanted = offsets
    .map((o) => ({ partition: o.partition, from: from.get(o.partition) ?? BigInt(o.low), end: BigInt(o.high) }))
    .filter((p) => p.from < p.end);
  if (wanted.length === 0) return [];
  const bounds = new Map(wanted.map((p) => [p.partition, p]));
  const remaining = new Set(bounds.keys());
  const out: ReadMessage[] = [];
  // A throwaway group that commits nothing: reading never moves anyone's offsets.
  const groupId = `provisioner-reader-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach its end within ${timeoutMs} ms`)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const bound = bounds.get(partition);
            const offset = BigInt(message.offset);
            if (!bound || offset < bound.from || offset >= bound.end || !remaining.has(partition)) return;
            out.push({ partition, message });
            if (offset + 1n >= bound.end) remaining.delete(partition);
            if (remaining.size === 0) done();
          },
        })
        .then(() => {
          for (const p of wanted) consumer.seek({ topic, partition: p.partition, offset: p.from.toString() });
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteGroups([groupId]).catch(() => undefined);
  await cleanup.disconnect();
  return out.sort((a, b) => a.partition - b.partition || (BigInt(a.message.offset) < BigInt(b.message.offset) ? -1 : 1));
}
