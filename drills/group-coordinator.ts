// Which broker coordinates a consumer group: the leader of the `__consumer_offsets` partition the
// group's id hashes to, as Kafka places it (Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions).
// kafkajs keeps its own view of the coordinator and does not expose it; the broker-kill drill kills
// this broker, the worst case for a consumer group (its commits and heartbeats must find a new one).
import type { Admin } from '../kafka/client.js';

/** Java's String.hashCode: 31-based over UTF-16 code units, in 32-bit two's complement. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i += 1) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition that holds `groupId` (Kafka's Utils.abs: the smallest int is 0). */
export function offsetsPartitionOf(groupId: string, partitions: number): number {
  const h = javaStringHash(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** The node id of the broker coordinating `groupId` now, or undefined when the cluster does not say. */
export async function groupCoordinator(admin: Admin, groupId: string): Promise<number | undefined> {
  const meta = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] }).catch(() => undefined);
  const offsets = meta?.topics[0]?.partitions;
  if (!offsets || offsets.length === 0) return undefined;
  const leader = offsets.find((p) => p.partitionId === offsetsPartitionOf(groupId, offsets.length))?.leader;
  return leader !== undefined && leader >= 0 ? leader : undefined;
}
