// What every ingress consumer shares (docs/architecture.md#events): read a topic in batches, hand each message to
// a handler, send bad input to `<topic>.dlq` with its reason, and commit an offset only after the
// handler returned (Temporal has the event). One key's messages are handled in their order,
// different keys concurrently, at most `maxInFlight` at once per partition (back-pressure, not
// buffering). A handler throws only for transient trouble (Temporal unreachable): the batch is then
// retried from the last commit. A crash kafkajs will not restart from exits the process (its
// supervisor restarts it), and a watchdog reports a consumer that silently stopped fetching.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Config } from '../schemas/config.js';
import type { ParseResult } from '../schemas/events.js';
import type { Logger } from '../observability/logger.js';
import { loadKeyring } from '../codec/keyring.js';
import { sendToDeadLetters, type DeadLetterReason } from './dead-letters.js';
import { label, metrics } from '../observability/metrics.js';
import { consumerLagWith } from '../kafka/consumer-lag.js';
import { inConsumerSpan } from '../observability/tracing/kafka.js';
import { createKafka, type Consumer, type EachBatchPayload, type KafkaMessage, type Producer } from '../kafka/client.js';

export type DeadLetterVerdict = { code: DeadLetterReason; text: string };

/** What became of one message: handed over (or recorded and skipped), or dead-lettered with a reason. */
export type Disposition = { status: 'handled' } | ({ status: 'dead-letter' } & DeadLetterVerdict);

export const handled: Disposition = { status: 'handled' };

export type Verdict<E> = { ok: true; event: E } | ({ ok: false } & DeadLetterVerdict);

/** Parses a message and checks that its key is the event's subject (the key decides the partition, hence the order). */
export function judgeMessage<E extends { subject: string }>(message: KafkaMessage, parse: (bytes: Buffer | null) => ParseResult<E>): Verdict<E> {
  const parsed = parse(message.value);
  if (!parsed.ok) return { ok: false, code: parsed.code, text: parsed.reason };
  const key = message.key?.toString();
  if (key !== undefined && key !== parsed.value.subject) {
    return { ok: false, code: 'key-mismatch', text: `message key ${JSON.stringify(key)} is not the event subject ${parsed.value.subject}` };
  }
  return { ok: true, event: parsed.value };
}

/** gRPC INVALID_ARGUMENT (3): Temporal will never accept this event (e.g. too large); retrying cannot help. */
export const isRejectedByTemporal = (err: unknown): boolean => isGrpcServiceError(err) && err.code === 3;

/** What a feed's consumer (HR, ITSM) is built from; the topic and group default per feed. */
export type FeedConsumerOptions = {
  cfg: Config;
  client: Client;
  logger: Logger;
  taskQueue?: string;
  topic?: string;
  groupId?: string;
  /** Events handed to Temporal at once, per partition (back-pressure: no unbounded buffering). */
  maxInFlight?: number;
  /** A consumer that has not fetched for this long is reported not ready. */
  watchdogMs?: number;
};

export type EventConsumerOptions = {
  cfg: Config;
  /** A child logger bound to the consumer's component and topic. */
  log: Logger;
  topic: string;
  groupId: string;
  clientId: string;
  /** Decides what becomes of one valid-or-not message; throws only for transient trouble. */
  handle(message: KafkaMessage, partition: number): Promise<Disposition>;
  /** Messages handed over at once, per partition (back-pressure: no unbounded buffering). */
  maxInFlight?: number;
  /** A consumer that has not fetched for this long is reported not ready. */
  watchdogMs?: number;
};

export type EventConsumer = {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Readiness: connected, in the group, and fetching. */
  isReady(): boolean;
  stats(): { handled: number; deadLettered: number; lastFetchAt: number };
};

export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { cfg, log, topic } = options;
  const maxInFlight = options.maxInFlight ?? 64;
  const watchdogMs = options.watchdogMs ?? 60_000;
  const keyring = loadKeyring({ dataDir: cfg.dataDir, mode: cfg.mode });
  const kafka = createKafka(cfg, { clientId: options.clientId, logger: log });
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    retry: { retries: 10 },
  });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let joined = false;
  let running = false;
  let removeLagSource: (() => void) | undefined;
  const lagAdmin = kafka.admin();
  let lastFetchAt = 0;
  let handledCount = 0;
  let deadLettered = 0;

  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  consumer.on(consumer.events.FETCH, () => (lastFetchAt = Date.now()));
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    log.error({ err: error, restart }, 'the Kafka consumer crashed');
    if (!restart && running) {
      // Exit so the supervisor restarts a clean process; nothing was committed past what Temporal has.
      log.fatal('the consumer will not restart itself: exiting');
      process.exit(1);
    }
  });

  async function handleOne(partition: number, message: KafkaMessage): Promise<void> {
    // In the message's consumer span, child of the trace its producer sent (traceparent header), if any.
    const disposition = await inConsumerSpan({ topic, partition, offset: message.offset, groupId: options.groupId, headers: message.headers }, () => options.handle(message, partition), (d) => d.status);
    if (disposition.status === 'handled') {
      handledCount += 1;
      metrics.eventsConsumed.inc({ topic, disposition: 'handled' });
      return;
    }
    // dead-letters.ts types the HR codes only; the header carries any code as text.
    await sendToDeadLetters(producer, { topic, partition, message }, { code: disposition.code, text: disposition.text }, keyring);
    deadLettered += 1;
    metrics.eventsConsumed.inc({ topic, disposition: 'dead-lettered' });
    metrics.deadLetters.inc({ topic, reason: label(disposition.code) });
    log.warn({ partition, offset: message.offset, reasonCode: disposition.code, reason: disposition.text.slice(0, 500) }, 'event sent to the dead-letter topic');
  }

  async function eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    for (let i = 0; i < batch.messages.length; i += maxInFlight) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + maxInFlight);
      // Different keys concurrently; one key's messages in their order (hand-overs and dead letters alike).
      const byKey = new Map<string, KafkaMessage[]>();
      for (const message of chunk) {
        const key = message.key?.toString() ?? '';
        byKey.set(key, [...(byKey.get(key) ?? []), message]);
      }
      await Promise.all(
        [...byKey.values()].map(async (messages) => {
          for (const message of messages) await handleOne(batch.partition, message);
        }),
      );
      const last = chunk[chunk.length - 1]!;
      // Commit only what Temporal has: the next offset to read after this chunk. Straight to the
      // group's coordinator, without kafkajs's own retries (consumer.commitOffsets): after the
      // coordinator's broker restarts, kafkajs 2.2.4 keeps sending commits to it, which answers
      // NOT_COORDINATOR, for the whole of its retries (two minutes; the broker-kill drill's 119 s
      // recovery). A failed commit fails the batch at once: on NOT_COORDINATOR kafkajs rejoins the
      // group, which finds the new coordinator; on any failure the chunk, not resolved yet, is
      // fetched and handed over again (idempotent) and committed then.
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] }] });
      resolveOffset(last.offset);
      await heartbeat();
    }
  }

  return {
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      running = true;
      // The group's lag on its topic, from offsets at each scrape: true even when this consumer stopped
      // fetching. One admin client, kept connected; a scrape that comes while a read is under way shares it.
      await lagAdmin.connect();
      let reading: ReturnType<typeof consumerLagWith> | undefined;
      removeLagSource = metrics.addLagSource(() => (reading ??= consumerLagWith(lagAdmin, options.groupId, [topic]).finally(() => (reading = undefined))));
      lastFetchAt = Date.now();
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: Math.min(cfg.kafka.partitions, 6), eachBatch });
    },
    async stop() {
      running = false;
      removeLagSource?.();
      await lagAdmin.disconnect().catch(() => undefined);
      // kafkajs waits for the batch in flight to finish before it leaves the group: a drain.
      await consumer.disconnect();
      await producer.disconnect();
    },
    isReady: () => running && joined && Date.now() - lastFetchAt < watchdogMs,
    stats: () => ({ handled: handledCount, deadLettered, lastFetchAt }),
  };
}
