// The `hr.lifecycle` consumer: validate each event, hand it to the person's identity workflow by
// signalWithStart, and commit the offset only after Temporal has durably received it. Bad input
// goes to the DLQ with its reason and the consumer carries on; only transient trouble (Temporal
// or Kafka unreachable) makes it retry the batch. The batch, commit, DLQ and watchdog machinery is
// shared with the ITSM consumer (event-consumer.ts).
import { parseHrEvent, type HrEvent } from '../schemas/events.js';
import { signalHrEvent } from '../clients/identity.js';
import { createEventConsumer, handled, isRejectedByTemporal, judgeMessage, type Disposition, type EventConsumer, type FeedConsumerOptions, type Verdict } from './event-consumer.js';
import type { KafkaMessage } from '../kafka/client.js';

export type HrConsumerOptions = FeedConsumerOptions;

export type HrConsumer = EventConsumer;

export function judge(message: KafkaMessage): Verdict<HrEvent> {
  return judgeMessage(message, parseHrEvent);
}

export function createHrConsumer(options: HrConsumerOptions): HrConsumer {
  const { cfg, client, logger } = options;
  const topic = options.topic ?? cfg.kafka.topics.hrLifecycle;
  const taskQueue = options.taskQueue ?? cfg.temporal.taskQueue;
  const log = logger.child({ component: 'hr-consumer', topic });

  async function handle(message: KafkaMessage): Promise<Disposition> {
    const verdict = judge(message);
    if (!verdict.ok) return { status: 'dead-letter', code: verdict.code, text: verdict.text };
    try {
      await signalHrEvent(client, taskQueue, verdict.event);
    } catch (err) {
      if (!isRejectedByTemporal(err)) throw err; // transient: the batch is retried from the last commit
      return { status: 'dead-letter', code: 'rejected-by-temporal', text: (err as Error).message };
    }
    log.debug({ eventId: verdict.event.id, employeeId: verdict.event.subject, offset: message.offset }, 'event handed to the identity workflow');
    return handled;
  }

  const consumer = createEventConsumer({
    cfg,
    log,
    topic,
    groupId: options.groupId ?? cfg.kafka.groups.hrIngress,
    clientId: `${cfg.kafka.clientId}-ingress`,
    handle,
    maxInFlight: options.maxInFlight,
    watchdogMs: options.watchdogMs,
  });
  return {
    ...consumer,
    async start() {
      await consumer.start();
      log.info({ taskQueue }, 'consuming HR events');
    },
  };
}
