// The `hr.lifecycle` consumer: validate each event, hand it to the person's identity workflow by
// signalWithStart, and commit the offset only after Temporal has durably received it. Bad input
// goes to the DLQ with its reason and the consumer carries on; only transient trouble (Temporal
// or Kafka unreachable) makes it retry the batch.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Config } from '../schemas/config.js';
import { parseHrEvent, type HrEvent } from '../schemas/events.js';
import type { Logger } from '../observability/logger.js';
import { hrEventReceived, identityWorkflowId, type HrEventReceived } from '../workflows/messages.js';
import { EmployeeId } from '../workflows/search-attributes.js';
import type { identityLifecycle } from '../workflows/identity-lifecycle.js';
import { loadKeyring } from '../codec/keyring.js';
import { sendToDeadLetters, type DeadLetterReason } from './dead-letters.js';
import { createKafka, type Consumer, type EachBatchPayload, type KafkaMessage, type Producer } from './kafka.js';

export type HrConsumerOptions = {
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

export type HrConsumer = {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Readiness: connected, in the group, and fetching. */
  isReady(): boolean;
  stats(): { handled: number; deadLettered: number; lastFetchAt: number };
};

type Verdict = { ok: true; event: HrEvent } | { ok: false; code: DeadLetterReason; text: string };

export function judge(message: KafkaMessage): Verdict {
  const parsed = parseHrEvent(message.value);
  if (!parsed.ok) {
    const code: DeadLetterReason = parsed.reason === 'empty message' ? 'empty' : parsed.reason.startsWith('not JSON') ? 'invalid-json' : 'invalid-event';
    return { ok: false, code, text: parsed.reason };
  }
  const key = message.key?.toString();
  if (key !== undefined && key !== parsed.value.subject) {
    // The key decides the partition, hence the order of one person's events: it must be theirs.
    return { ok: false, code: 'key-mismatch', text: `message key ${JSON.stringify(key)} is not the event subject ${parsed.value.subject}` };
  }
  return { ok: true, event: parsed.value };
}

/** gRPC INVALID_ARGUMENT (3): Temporal will never accept this event (e.g. too large); retrying cannot help. */
const isRejectedByTemporal = (err: unknown) => isGrpcServiceError(err) && err.code === 3;

export function createHrConsumer(options: HrConsumerOptions): HrConsumer {
  const { cfg, client, logger } = options;
  const topic = options.topic ?? cfg.kafka.topics.hrLifecycle;
  const taskQueue = options.taskQueue ?? cfg.temporal.taskQueue;
  const maxInFlight = options.maxInFlight ?? 64;
  const watchdogMs = options.watchdogMs ?? 60_000;
  const log = logger.child({ component: 'hr-consumer', topic });
  const keyring = loadKeyring({ dataDir: cfg.dataDir });
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-ingress`, logger: log });
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId ?? `${cfg.kafka.clientId}-ingress`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    retry: { retries: 10 },
  });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let joined = false;
  let running = false;
  let lastFetchAt = 0;
  let handled = 0;
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

  async function deliver(event: HrEvent): Promise<void> {
    const received: HrEventReceived = { eventId: event.id, type: event.type, source: event.source, time: event.time, snapshot: event.data };
    await client.workflow.signalWithStart<typeof identityLifecycle, [HrEventReceived]>('identityLifecycle', {
      workflowId: identityWorkflowId(event.subject),
      taskQueue,
      args: [{ employeeId: event.subject }],
      signal: hrEventReceived,
      signalArgs: [received],
      typedSearchAttributes: [{ key: EmployeeId, value: event.subject }],
    });
  }

  async function handle(partition: number, message: KafkaMessage): Promise<void> {
    const verdict = judge(message);
    if (verdict.ok) {
      try {
        await deliver(verdict.event);
        handled += 1;
        log.debug({ eventId: verdict.event.id, employeeId: verdict.event.subject, offset: message.offset }, 'event handed to the identity workflow');
        return;
      } catch (err) {
        if (!isRejectedByTemporal(err)) throw err; // transient: the batch is retried from the last commit
        await deadLetter(partition, message, { code: 'rejected-by-temporal', text: (err as Error).message });
        return;
      }
    }
    await deadLetter(partition, message, { code: verdict.code, text: verdict.text });
  }

  async function deadLetter(partition: number, message: KafkaMessage, reason: { code: DeadLetterReason; text: string }): Promise<void> {
    await sendToDeadLetters(producer, { topic, partition, message }, reason, keyring);
    deadLettered += 1;
    log.warn({ partition, offset: message.offset, reasonCode: reason.code, reason: reason.text.slice(0, 500) }, 'event sent to the dead-letter topic');
  }

  async function eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    for (let i = 0; i < batch.messages.length; i += maxInFlight) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + maxInFlight);
      // Different people concurrently; one person's messages in their order (signals and dead letters alike).
      const byKey = new Map<string, KafkaMessage[]>();
      for (const message of chunk) {
        const key = message.key?.toString() ?? '';
        byKey.set(key, [...(byKey.get(key) ?? []), message]);
      }
      await Promise.all(
        [...byKey.values()].map(async (messages) => {
          for (const message of messages) await handle(batch.partition, message);
        }),
      );
      const last = chunk[chunk.length - 1]!;
      resolveOffset(last.offset);
      // Commit only what Temporal has: the next offset to read after this chunk.
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      await heartbeat();
    }
  }

  return {
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      running = true;
      lastFetchAt = Date.now();
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: Math.min(cfg.kafka.partitions, 6), eachBatch });
      log.info({ taskQueue }, 'consuming HR events');
    },
    async stop() {
      running = false;
      // kafkajs waits for the batch in flight to finish before it leaves the group: a drain.
      await consumer.disconnect();
      await producer.disconnect();
    },
    isReady: () => running && joined && Date.now() - lastFetchAt < watchdogMs,
    stats: () => ({ handled, deadLettered, lastFetchAt }),
  };
}

