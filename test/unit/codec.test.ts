import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, ENCRYPTED_ENCODING } from '../../codec/encryption-codec.js';
import { loadKeyring, parseKeyring } from '../../codec/keyring.js';

const key = () => randomBytes(32).toString('base64');
const k1 = key();
const k2 = key();
const ring = (active: string, keys: Record<string, string>) => parseKeyring(JSON.stringify({ active, keys }), 'test');
const payload = defaultPayloadConverter.toPayload({ givenName: 'Ada', email: 'ada@example.com' });

describe('the payload encryption codec', () => {
  it('encrypts a payload so its clear text appears nowhere, and decrypts it back', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const [sealed] = await codec.encode([payload]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('ada@example.com');
    const [clear] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(clear!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });

  it('after a key rotation, new payloads use the new key and old payloads still decrypt', async () => {
    const [old] = await new EncryptionCodec(ring('k1', { k1 })).encode([payload]);
    const rotated = new EncryptionCodec(ring('k2', { k1, k2 }));
    const [fresh] = await rotated.encode([payload]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });

  it('refuses a payload sealed with an unknown key, naming the key id', async () => {
    const [sealed] = await new EncryptionCodec(ring('k1', { k1 })).encode([payload]);
    await expect(new EncryptionCodec(ring('k2', { k2 })).decode([sealed!])).rejects.toThrow(/unknown key id "k1"/);
  });

  it('detects a tampered payload (GCM authentication)', async () => {
    const [sealed] = await new EncryptionCodec(ring('k1', { k1 })).encode([payload]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 0xff;
    await expect(new EncryptionCodec(ring('k1', { k1 })).decode([{ ...sealed!, data }])).rejects.toThrow();
  });

  it('passes through payloads it did not encrypt', async () => {
    expect(await new EncryptionCodec(ring('k1', { k1 })).decode([payload])).toEqual([payload]);
  });

  it('rejects keys that are not 32 bytes and an active key that is not in the ring', () => {
    expect(() => ring('k1', { k1: randomBytes(16).toString('base64') })).toThrow(/32 bytes/);
    expect(() => ring('k9', { k1 })).toThrow(/active key k9/);
  });

  it('creates a private key file for local development when none is configured', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-'));
    const first = loadKeyring({ dataDir: dir, env: {} });
    expect(first.keys.get(first.activeKeyId)).toHaveLength(32);
    expect(statSync(path.join(dir, 'codec-keys.json')).mode & 0o777).toBe(0o600);
    expect(loadKeyring({ dataDir: dir, env: {} }).keys.get(first.activeKeyId)).toEqual(first.keys.get(first.activeKeyId));
  });
});
