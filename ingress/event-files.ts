// `provisioner publish <file.jsonl>` for HR and ITSM events alike: every line is validated against
// its contract (a `type` starting with `itsm.` is an ITSM event, anything else an HR event), then
// each goes to its topic keyed by its subject (the employee id; for ITSM, the beneficiary's).
// Nothing is published when any line is invalid.
import type { Config } from '../schemas/config.js';
import { parseHrEvent, type HrEvent } from '../schemas/events.js';
import { parseItsmEvent, type ItsmEvent } from '../schemas/itsm-events.js';
import { createKafka } from '../kafka/client.js';
import { decisionOf, ensureDevItsmKey, signDecision } from '../crypto/decision-signatures.js';

export type EventFeed = 'hr' | 'itsm';

/** A valid line: the parsed event (by feed), its id, type and subject, and the bytes as sent. */
export type EventLine = { id: string; type: string; subject: string; raw: string } & ({ feed: 'hr'; event: HrEvent } | { feed: 'itsm'; event: ItsmEvent });

export type EventFileValidation = { events: EventLine[]; errors: Array<{ line: number; reason: string }> };

/** The feed a line belongs to, by its `type` (lines that are not JSON objects are judged as HR events). */
export function feedOf(line: string): EventFeed {
  try {
    const json: unknown = JSON.parse(line);
    const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
    return typeof type === 'string' && type.startsWith('itsm.') ? 'itsm' : 'hr';
  } catch {
    return 'hr';
  }
}

function parseLine(raw: string): { ok: true; value: EventLine } | { ok: false; reason: string } {
  const about = (e: HrEvent | ItsmEvent) => ({ id: e.id, type: e.type, subject: e.subject, raw });
  if (feedOf(raw) === 'itsm') {
    const parsed = parseItsmEvent(raw);
    return parsed.ok ? { ok: true, value: { ...about(parsed.value), feed: 'itsm', event: parsed.value } } : parsed;
  }
  const parsed = parseHrEvent(raw);
  return parsed.ok ? { ok: true, value: { ...about(parsed.value), feed: 'hr', event: parsed.value } } : parsed;
}

export function validateEventFile(text: string): EventFileValidation {
  const out: EventFileValidation = { events: [], errors: [] };
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('//')) return;
    const parsed = parseLine(line);
    if (parsed.ok) out.events.push(parsed.value);
    else out.errors.push({ line: index + 1, reason: parsed.reason });
  });
  return out;
}

export const topicOf = (cfg: Config, feed: EventFeed): string => (feed === 'itsm' ? cfg.kafka.topics.itsmRequests : cfg.kafka.topics.hrLifecycle);

/** Publishes the original bytes of each validated line (what the sender wrote, not our re-serialisation), per topic in file order. */
export async function publishEventFile(cfg: Config, validated: EventFileValidation): Promise<Record<EventFeed, number>> {
  if (validated.errors.length > 0) throw new Error('refusing to publish: the file has invalid lines');
  const producer = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-publish` }).producer({ idempotent: true, maxInFlightRequests: 1 });
  const counts: Record<EventFeed, number> = { hr: 0, itsm: 0 };
  await producer.connect();
  try {
    for (const feed of ['hr', 'itsm'] as const) {
      const events = validated.events.filter((e) => e.feed === feed);
      if (events.length === 0) continue;
      await producer.send({
        topic: topicOf(cfg, feed),
        acks: -1,
        messages: events.map((e) => ({ key: e.subject, value: e.raw, headers: { 'ce-type': e.type, 'ce-id': e.id } })),
      });
      counts[feed] = events.length;
    }
  } finally {
    await producer.disconnect();
  }
  return counts;
}

/** How `sign-decisions` and `publish --sign` sign: a private key file, or in development the development ITSM key. */
export type DecisionSigning = { keyFile?: string; kid?: string };

/**
 * The file's lines with every `itsm.approval.decided` event signed as the ITSM would sign it
 * (crypto/decision-signatures.ts; issuer and audience from the itsm section). Other lines are kept
 * as they are; a decided line that is not valid JSON is left for validation to report.
 */
export async function signDecisionLines(cfg: Config, text: string, signing: DecisionSigning = {}): Promise<string> {
  const keyFile = signing.keyFile ?? (cfg.mode === 'development' ? ensureDevItsmKey(cfg.dataDir).privateKey : undefined);
  if (!keyFile) throw new Error("sign: production mode signs with no development key; give the ITSM's private key with --key");
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const parsed = line.trim() === '' || line.trimStart().startsWith('//') ? undefined : parseItsmEvent(line);
    if (!parsed?.ok || parsed.value.type !== 'itsm.approval.decided') {
      out.push(line);
      continue;
    }
    const raw = JSON.parse(line) as Record<string, unknown>;
    raw.signature = await signDecision(decisionOf(parsed.value), { keyFile, issuer: cfg.itsm.issuer, audience: cfg.itsm.audience, ...(signing.kid ? { kid: signing.kid } : {}) });
    out.push(JSON.stringify(raw));
  }
  return out.join('\n');
}
