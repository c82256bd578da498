// Sealed dead letters: the bytes of bad input are sealed with the codec keyring, bound to the
// message they stood for; letters sealed in the old format (before the shared sealer) still open.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringOf, parseKeyEntries } from '../../crypto/keyring.js';
import { describeDeadLetter, DLQ_HEADERS, originalBytes, sendToDeadLetters } from '../../ingress/dead-letters.js';
import type { KafkaMessage, Producer } from '../../kafka/client.js';
import { MAX_EVENT_BYTES } from '../../schemas/events.js';

const ring = (entries: string) => keyringOf(parseKeyEntries(entries, 'test', 32))!;
const k1 = randomBytes(32).toString('base64');
const legacy = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'legacy-sealed.json'), 'utf8')) as {
  key: { id: string; base64: string };
  deadLetter: { keyId: string; value: string; clear: string };
};

/** Sends one bad message through sendToDeadLetters and returns the letter as the DLQ topic holds it. */
async function deadLetterOf(value: string, keyring = ring(`k1:${k1}`)): Promise<KafkaMessage> {
  const sent: Array<{ value: Buffer; headers: Record<string, string> }> = [];
  const producer = { send: async (r: { messages: typeof sent }) => void sent.push(...r.messages) } as unknown as Producer;
  const message = { key: Buffer.from('E1'), value: Buffer.from(value), offset: '41', timestamp: '1', headers: {} } as unknown as KafkaMessage;
  await sendToDeadLetters(producer, { topic: 'hr.lifecycle', partition: 2, message }, { code: 'invalid-json', text: 'not JSON' }, keyring);
  return { ...message, offset: '7', value: sent[0]!.value, headers: sent[0]!.headers } as unknown as KafkaMessage;
}

describe('sealed dead letters', () => {
  it('seal the original bytes and open them again for dlq list and redrive', async () => {
    const letter = await deadLetterOf('{"name":"Ada Lovelace"');
    expect(letter.value!.toString('latin1')).not.toContain('Ada');
    expect(originalBytes(letter, ring(`k1:${k1}`))!.toString()).toBe('{"name":"Ada Lovelace"');
    expect(describeDeadLetter(0, letter, ring(`k1:${k1}`))).toMatchObject({ value: '{"name":"Ada Lovelace"', valueEncoding: 'utf8' });
  });

  it('are bound to the message they stood for: moved to another original offset, they do not open', async () => {
    const letter = await deadLetterOf('{"name":"Ada Lovelace"');
    const moved = { ...letter, headers: { ...letter.headers, [DLQ_HEADERS.offset]: '42' } } as KafkaMessage;
    expect(() => originalBytes(moved, ring(`k1:${k1}`))).toThrow(/does not open/);
    expect(describeDeadLetter(0, moved, ring(`k1:${k1}`)).valueEncoding).toBe('sealed');
  });

  it('sealed in the old format (no associated data, no format header) still open', () => {
    const old = {
      key: null, offset: '3', timestamp: '1', value: Buffer.from(legacy.deadLetter.value, 'base64'),
      headers: { [DLQ_HEADERS.sealedKeyId]: legacy.deadLetter.keyId, [DLQ_HEADERS.topic]: 'hr.lifecycle', [DLQ_HEADERS.partition]: '0', [DLQ_HEADERS.offset]: '5' },
    } as unknown as KafkaMessage;
    expect(originalBytes(old, ring(`new:${k1}\n${legacy.key.id}:${legacy.key.base64}`))!.toString()).toBe(legacy.deadLetter.clear);
  });

  it('keep only the first MAX_EVENT_BYTES of a too-large message, and say how large it was (the whole would not fit the DLQ topic)', async () => {
    const huge = `{"pad":"${'x'.repeat(1024 * 1024)}"}`;
    const letter = await deadLetterOf(huge);
    expect(letter.value!.length).toBeLessThan(MAX_EVENT_BYTES + 100);
    expect(letter.headers![DLQ_HEADERS.truncatedFrom]).toBe(String(Buffer.byteLength(huge)));
    expect(originalBytes(letter, ring(`k1:${k1}`))!.toString()).toBe(huge.slice(0, MAX_EVENT_BYTES));
    expect((await deadLetterOf('{"small":1')).headers).not.toHaveProperty(DLQ_HEADERS.truncatedFrom);
  });
});
