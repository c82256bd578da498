// `provisioner publish <file.jsonl>`: validates every line as an HR event, then publishes them all,
// keyed by employee id. Nothing is published when any line is invalid.
import type { Config } from '../schemas/config.js';
import { parseHrEvent, type HrEvent } from '../schemas/events.js';
import { createKafka } from './kafka.js';

export type JsonlValidation = { events: HrEvent[]; raw: string[]; errors: Array<{ line: number; reason: string }> };

export function validateJsonl(text: string): JsonlValidation {
  const out: JsonlValidation = { events: [], raw: [], errors: [] };
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('//')) return;
    const parsed = parseHrEvent(line);
    if (parsed.ok) {
      out.events.push(parsed.value);
      out.raw.push(line);
    } else out.errors.push({ line: index + 1, reason: parsed.reason });
  });
  return out;
}

/** Publishes the original bytes of each validated line (what HR sent, not our re-serialisation). */
export async function publishHrEvents(cfg: Config, validated: JsonlValidation, topic = cfg.kafka.topics.hrLifecycle): Promise<number> {
  if (validated.errors.length > 0) throw new Error('refusing to publish: the file has invalid lines');
  const producer = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-publish` }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: validated.events.map((event, i) => ({ key: event.subject, value: validated.raw[i]!, headers: { 'ce-type': event.type, 'ce-id': event.id } })),
    });
  } finally {
    await producer.disconnect();
  }
  return validated.events.length;
}
