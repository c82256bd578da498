// How far a consumer group is behind on its topics, from offsets alone (nothing is read): per
// partition, the end of the log minus the group's committed offset (the log's start when the group
// never committed there). `provisioner status` shows the ingress's lag and the dead letters no
// redrive has replayed yet (the redrive group's lag on a DLQ topic).
import type { Admin, Kafka } from './client.js';
import { committedOffsetsWith } from './topic-reader.js';

export type PartitionLag = { topic: string; partition: number; end: bigint; committed?: bigint; lag: bigint };

export async function consumerLag(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await consumerLagWith(admin, groupId, topics);
  } finally {
    await admin.disconnect();
  }
}

/** The same, on an admin client the caller keeps connected (the ingress's, read at every scrape). */
export async function consumerLagWith(admin: Admin, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const out: PartitionLag[] = [];
  for (const topic of topics) {
    const committed = await committedOffsetsWith(admin, groupId, topic);
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const end = BigInt(o.high);
      const at = committed.get(o.partition);
      const from = at ?? BigInt(o.low);
      out.push({ topic, partition: o.partition, end, ...(at !== undefined ? { committed: at } : {}), lag: end > from ? end - from : 0n });
    }
  }
  return out;
}

/** The lag per topic (the sum over its partitions). */
export function lagByTopic(lags: readonly PartitionLag[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const l of lags) out.set(l.topic, (out.get(l.topic) ?? 0n) + l.lag);
  return out;
}
