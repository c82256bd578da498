// `dlq list` and `dlq redrive`: inspect dead letters and replay them, unchanged, onto their topic.
// Redrive remembers how far it got in its own consumer group (kafka.groups.dlqRedrive), so a letter
// is replayed once.
import type { Config } from '../schemas/config.js';
import { loadKeyring } from '../codec/keyring.js';
import { describeDeadLetter, dlqTopicOf, DLQ_HEADERS, originalBytes, originalHeaders, type DeadLetter } from './dead-letters.js';
import { createKafka } from '../kafka/client.js';
import { committedOffsets, readToEnd } from '../kafka/topic-reader.js';

export type ListedDeadLetter = DeadLetter & { redriven: boolean };

export async function listDeadLetters(cfg: Config, topic: string): Promise<ListedDeadLetter[]> {
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-dlq` });
  const dlq = dlqTopicOf(topic);
  const done = await committedOffsets(kafka, cfg.kafka.groups.dlqRedrive, dlq);
  const letters = await readToEnd(kafka, dlq);
  const keyring = loadKeyring({ dataDir: cfg.dataDir, mode: cfg.mode });
  return letters.map(({ partition, message }) => ({
    ...describeDeadLetter(partition, message, keyring),
    redriven: BigInt(message.offset) < (done.get(partition) ?? 0n),
  }));
}

export type LetterAddress = { partition: number; offset: string };

/**
 * Replays onto the original topic either every dead letter not yet redriven (and remembers that
 * they were), or only the letters named by address (any of them, again if asked; nothing remembered).
 */
export async function redriveDeadLetters(cfg: Config, topic: string, only?: LetterAddress[]): Promise<{ redriven: DeadLetter[]; skipped: number }> {
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-dlq` });
  const dlq = dlqTopicOf(topic);
  const letters = await readToEnd(kafka, dlq, only ? new Map() : await committedOffsets(kafka, cfg.kafka.groups.dlqRedrive, dlq));
  const keyring = loadKeyring({ dataDir: cfg.dataDir, mode: cfg.mode });
  const select = (l: DeadLetter) => !only || only.some((a) => a.partition === l.partition && a.offset === l.offset);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  await producer.connect();
  await admin.connect();
  const redriven: DeadLetter[] = [];
  let skipped = 0;
  try {
    for (const { partition, message } of letters) {
      const letter = describeDeadLetter(partition, message, keyring);
      // A letter this keyring cannot open is left where it is (still listed, redrivable by address later).
      if (!select(letter) || letter.valueEncoding === 'sealed') {
        skipped += 1;
        continue;
      }
      await producer.send({
        topic: letter.original.topic || topic,
        acks: -1,
        messages: [{ key: message.key, value: originalBytes(message, keyring), headers: { ...originalHeaders(message.headers), [DLQ_HEADERS.redriven]: `${dlq}/${partition}/${message.offset}` } }],
      });
      redriven.push(letter);
    }
    // Remember how far a full redrive got, per partition.
    const ends = new Map<number, string>();
    for (const { partition, message } of letters) ends.set(partition, (BigInt(message.offset) + 1n).toString());
    if (!only && ends.size > 0) {
      await admin.setOffsets({ groupId: cfg.kafka.groups.dlqRedrive, topic: dlq, partitions: [...ends].map(([partition, offset]) => ({ partition, offset })) });
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  return { redriven, skipped };
}
