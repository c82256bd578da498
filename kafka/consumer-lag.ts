// How far a consumer group is behind on its topics, from offsets alone (nothing is read): per
// partition, the end of the log minus the group's committed offset (the log's start when the group
// never committed there). `provisioner status` shows the ingress's lag and the dead letters no
// redrive has replayed yet (the redrive group's lag on a DLQ topic).
import type { Kafka } from './client.js';

export type PartitionLag = { topic: string; partition: number; end: bigint; committed?: bigint; lag: bigint };

export async function consumerLag(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    const out: PartitionLag[] = [];
    for (const topic of topics) {
      const byPartition = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, BigInt(p.offset)]));
      for (const o of await admin.fetchTopicOffsets(topic)) {
        const end = BigInt(o.high);
        const at = byPartition.get(o.partition);
        const from = at ?? BigInt(o.low);
        out.push({ topic, partition: o.partition, end, ...(at !== undefined ? { committed: at } : {}), lag: end > from ? end - from : 0n });
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** The lag per topic (the sum over its partitions). */
export function lagByTopic(lags: readonly PartitionLag[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const l of lags) out.set(l.topic, (out.get(l.topic) ?? 0n) + l.lag);
  return out;
}
