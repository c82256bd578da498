// Dead letters: bad input goes to `<topic>.dlq` with the original bytes as the value and a
// machine-readable reason in the headers, so it can be inspected and replayed unchanged. The
// bytes are sealed with the codec keyring (bad input can carry personal data, and the DLQ is read
// by more people than the HR topic), bound by associated data to the message they stood for:
// `dlq list` and `dlq redrive` open them. Letters sealed before the sealer took associated data
// (no `dlq-sealed-format` header) are still opened for reading.
import { open, openUnbound, seal } from '../crypto/aes-gcm.js';
import { activeKey, keyById, type Keyring } from '../crypto/keyring.js';
import type { IHeaders, KafkaMessage, Producer } from '../kafka/client.js';
import { MAX_EVENT_BYTES } from '../schemas/events.js';
import type { DecisionRefusalCode } from '../crypto/decision-signatures.js';

export const dlqTopicOf = (topic: string) => `${topic}.dlq`;

/**
 * Why a message went to the dead-letter topic (the `dlq-reason-code` header). `too-large`: over
 * MAX_EVENT_BYTES (schemas/events.ts), refused unread. The last four only on
 * itsm.requests: `unknown-beneficiary` (a revoke for a person with no identity workflow),
 * `unknown-approval` (an approval id no workflow holds), `no-such-workflow` (the approval's workflow
 * never existed here), `decision-failed` (the decision's update ran and failed, not a refusal);
 * and a decision without a valid signature of the ITSM (crypto/decision-signatures.ts):
 * `unsigned-decision`, `bad-signature`, `stale-decision`, `decision-mismatch`.
 */
export type DeadLetterReason =
  | 'empty' | 'too-large' | 'invalid-json' | 'invalid-event' | 'key-mismatch' | 'rejected-by-temporal'
  | 'unknown-beneficiary' | 'unknown-approval' | 'no-such-workflow' | 'decision-failed'
  | DecisionRefusalCode;

export const DLQ_HEADERS = {
  reasonCode: 'dlq-reason-code',
  reason: 'dlq-reason',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  timestamp: 'dlq-original-timestamp',
  at: 'dlq-at',
  redriven: 'dlq-redriven-from',
  sealedKeyId: 'dlq-sealed-key-id',
  sealedFormat: 'dlq-sealed-format',
  /** Set when the letter keeps only the first MAX_EVENT_BYTES of the original: its size in bytes. */
  truncatedFrom: 'dlq-truncated-from',
} as const;

/** The `dlq-sealed-format` of letters sealed with associated data; letters without it were sealed without. */
const SEALED_FORMAT = 'aes-256-gcm-ad';
const KEYRING_NAME = 'the codec keyring (PROVISIONER_CODEC_KEYS)';

/** What a sealed letter is bound to: the original message's place, which its headers repeat. */
const associatedData = (original: { topic: string; partition: string | number; offset: string }) =>
  `dead-letter|${original.topic}|${original.partition}|${original.offset}`;

export async function sendToDeadLetters(
  producer: Producer,
  source: { topic: string; partition: number; message: KafkaMessage },
  reason: { code: DeadLetterReason; text: string },
  keyring: Keyring,
): Promise<void> {
  const { message } = source;
  const { id: keyId, key } = activeKey(keyring);
  // A too-large message would not fit the DLQ topic either (the broker's 1 MB default): sending it
  // would fail on every retry and freeze the partition. No event is longer than MAX_EVENT_BYTES,
  // so its first MAX_EVENT_BYTES show what it was.
  const truncated = message.value !== null && message.value.length > MAX_EVENT_BYTES;
  const value = truncated ? message.value!.subarray(0, MAX_EVENT_BYTES) : message.value;
  const sealed = value ? seal(key, value, associatedData({ topic: source.topic, partition: source.partition, offset: message.offset })) : undefined;
  const headers: IHeaders = {
    ...(message.headers ?? {}),
    [DLQ_HEADERS.reasonCode]: reason.code,
    [DLQ_HEADERS.reason]: reason.text.slice(0, 4000),
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: message.offset,
    [DLQ_HEADERS.timestamp]: message.timestamp,
    [DLQ_HEADERS.at]: new Date().toISOString(),
    ...(sealed ? { [DLQ_HEADERS.sealedKeyId]: keyId, [DLQ_HEADERS.sealedFormat]: SEALED_FORMAT } : {}),
    ...(truncated ? { [DLQ_HEADERS.truncatedFrom]: String(message.value!.length) } : {}),
  };
  await producer.send({
    topic: dlqTopicOf(source.topic),
    acks: -1,
    messages: [{ key: message.key, value: sealed ?? value, headers }],
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
  /** `sealed`: the bytes could not be opened with this keyring (another checkout's key, a dropped key): value is empty. */
  valueEncoding: 'utf8' | 'base64' | 'sealed';
};

const header = (headers: IHeaders | undefined, name: string): string => {
  const value = headers?.[name];
  if (value === undefined) return '';
  return Array.isArray(value) ? String(value[0]) : value.toString();
};

/** The original bytes of a dead letter, opened when they were sealed. */
export function originalBytes(message: KafkaMessage, keyring: Keyring): Buffer | null {
  const keyId = header(message.headers, DLQ_HEADERS.sealedKeyId);
  if (!message.value || !keyId) return message.value;
  const key = keyById(keyring, keyId, KEYRING_NAME);
  if (header(message.headers, DLQ_HEADERS.sealedFormat) !== SEALED_FORMAT) return openUnbound(key, message.value);
  return open(key, message.value, associatedData({
    topic: header(message.headers, DLQ_HEADERS.topic),
    partition: header(message.headers, DLQ_HEADERS.partition),
    offset: header(message.headers, DLQ_HEADERS.offset),
  }));
}

export function describeDeadLetter(partition: number, message: KafkaMessage, keyring: Keyring): DeadLetter {
  let bytes: Buffer | null;
  try {
    bytes = originalBytes(message, keyring) ?? Buffer.alloc(0);
  } catch {
    bytes = null; // one unreadable letter must not hide the others
  }
  const text = bytes?.toString('utf8') ?? '';
  const isUtf8 = bytes !== null && Buffer.from(text, 'utf8').equals(bytes);
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
    value: bytes === null ? '' : isUtf8 ? text : bytes.toString('base64'),
    valueEncoding: bytes === null ? 'sealed' : isUtf8 ? 'utf8' : 'base64',
  };
}

/** The headers a redriven message keeps: the original ones, without the dead-letter bookkeeping. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const dlqNames = new Set<string>(Object.values(DLQ_HEADERS));
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !dlqNames.has(name))) as IHeaders;
}
