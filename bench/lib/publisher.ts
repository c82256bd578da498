// Open-loop publishing: every event has a scheduled time, fixed before the run; the publisher
// sends whatever is due without waiting for earlier sends, so a slow producer or a slow pipeline
// cannot push the schedule back (latency counts from the scheduled time, not the send).
import type { Producer } from '../../kafka/client.js';
import { preciseNow } from '../../targets/write-log.js';

export type Scheduled = { key: string; value: string; at: number };

export async function publishOpenLoop(producer: Producer, topic: string, events: Scheduled[]): Promise<{ maxSendLagMs: number }> {
  const sends: Array<Promise<unknown>> = [];
  let i = 0;
  let maxSendLagMs = 0;
  while (i < events.length) {
    const now = preciseNow();
    const due: Scheduled[] = [];
    while (i < events.length && events[i]!.at <= now) due.push(events[i++]!);
    if (due.length > 0) {
      maxSendLagMs = Math.max(maxSendLagMs, now - due[0]!.at);
      sends.push(producer.send({ topic, messages: due.map((e) => ({ key: e.key, value: e.value })) }));
    }
    if (i < events.length) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(50, events[i]!.at - preciseNow()))));
  }
  await Promise.all(sends);
  return { maxSendLagMs: Math.round(maxSendLagMs) };
}

/** `count` events at `rate`/s from `start` (rate Infinity: all at `start`). */
export function schedule<T>(items: T[], start: number, rate: number, toEvent: (item: T) => { key: string; value: string }): Scheduled[] {
  return items.map((item, n) => ({ ...toEvent(item), at: rate === Infinity ? start : start + (n * 1000) / rate }));
}
