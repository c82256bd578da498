// Dead letters: bad input goes to `<topic>.dlq` with the original bytes as the value and a
// machine-readable reason in the headers, so it can be inspected and replayed unchanged.
import type { IHeaders, KafkaMessage, Producer } from './kafka.js';

export const dlqTopicOf = (topic: string) => `${topic}.dlq`;

export type DeadLetterReason = 'empty' | 'invalid-json' | 'invalid-event' | 'key-mismatch' | 'rejected-by-temporal';

export const DLQ_HEADERS = {
  reasonCode: 'dlq-reason-code',
  reason: 'dlq-reason',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  timestamp: 'dlq-original-timestamp',
  at: 'dlq-at',
  redriven: 'dlq-redriven-from',
} as const;

export async function sendToDeadLetters(
  producer: Producer,
  source: { topic: string; partition: number; message: KafkaMessage },
  reason: { code: DeadLetterReason; text: string },
): Promise<void> {
  const { message } = source;
  const headers: IHeaders = {
    ...(message.headers ?? {}),
    [DLQ_HEADERS.reasonCode]: reason.code,
    [DLQ_HEADERS.reason]: reason.text.slice(0, 4000),
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: message.offset,
    [DLQ_HEADERS.timestamp]: message.timestamp,
    [DLQ_HEADERS.at]: new Date().toISOString(),
  };
  await producer.send({
    topic: dlqTopicOf(source.topic),
    acks: -1,
    messages: [{ key: message.key, value: message.value, headers }],
  });
}

/** A dead letter as `dlq list` shows it: the envelope around the original bytes. */
export type DeadLetter = {
  partition: number;
  offset: string;
  key: string | null;
  reasonCode: string;
  reason: string;
  original: { topic: string; partition: number; offset: string; timestamp: string };
  at: string;
  /** The original bytes, as UTF-8 text (base64 when they are not valid UTF-8). */
  value: string;
  valueEncoding: 'utf8' | 'base64';
};

const header = (headers: IHeaders | undefined, name: string): string => {
  const value = headers?.[name];
  if (value === undefined) return '';
  return Array.isArray(value) ? String(value[0]) : value.toString();
};

export function describeDeadLetter(partition: number, message: KafkaMessage): DeadLetter {
  const bytes = message.value ?? Buffer.alloc(0);
  const text = bytes.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(bytes);
  return {
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    reasonCode: header(message.headers, DLQ_HEADERS.reasonCode),
    reason: header(message.headers, DLQ_HEADERS.reason),
    original: {
      topic: header(message.headers, DLQ_HEADERS.topic),
      partition: Number(header(message.headers, DLQ_HEADERS.partition)),
      offset: header(message.headers, DLQ_HEADERS.offset),
      timestamp: header(message.headers, DLQ_HEADERS.timestamp),
    },
    at: header(message.headers, DLQ_HEADERS.at),
    value: isUtf8 ? text : bytes.toString('base64'),
    valueEncoding: isUtf8 ? 'utf8' : 'base64',
  };
}

/** The headers a redriven message keeps: the original ones, without the dead-letter bookkeeping. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const dlqNames = new Set<string>(Object.values(DLQ_HEADERS));
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !dlqNames.has(name))) as IHeaders;
}
