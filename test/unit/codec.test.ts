import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EncryptionCodec, ENCRYPTED_ENCODING, LEGACY_ENCRYPTED_ENCODING } from '../../codec/encryption-codec.js';
import { codecKeyFile, loadKeyring } from '../../codec/keyring.js';
import { KeyConfigError, keyringOf, parseKeyEntries } from '../../crypto/keyring.js';

const key = () => randomBytes(32).toString('base64');
const k1 = key();
const k2 = key();
/** A keyring in the one format: `<id>:<base64>` entries, the active one first. */
const ring = (entries: string) => keyringOf(parseKeyEntries(entries, 'test', 32))!;
const payload = defaultPayloadConverter.toPayload({ givenName: 'Ada', email: 'ada@example.com' });
const meta = (p: Payload, name: string) => Buffer.from(p.metadata![name]!).toString();

/** Sealed by the codec before it used the shared sealer (no associated data); see the fixture's comment. */
const legacy = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'legacy-sealed.json'), 'utf8')) as {
  key: { id: string; base64: string };
  payload: { metadata: Record<string, string>; data: string };
};
const legacyPayload: Payload = {
  metadata: Object.fromEntries(Object.entries(legacy.payload.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(legacy.payload.data, 'base64'),
};

describe('the payload encryption codec', () => {
  it('encrypts a payload so its clear text appears nowhere, and decrypts it back', async () => {
    const codec = new EncryptionCodec(ring(`k1:${k1}`));
    const [sealed] = await codec.encode([payload]);
    expect(meta(sealed!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed!, 'encryption-key-id')).toBe('k1');
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('ada@example.com');
    const [clear] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(clear!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });

  it('after a key rotation, new payloads use the new key and old payloads still decrypt', async () => {
    const [old] = await new EncryptionCodec(ring(`k1:${k1}`)).encode([payload]);
    const rotated = new EncryptionCodec(ring(`k2:${k2}\nk1:${k1}`));
    const [fresh] = await rotated.encode([payload]);
    expect(meta(fresh!, 'encryption-key-id')).toBe('k2');
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });

  it('refuses a payload sealed with an unknown key, naming the key id', async () => {
    const [sealed] = await new EncryptionCodec(ring(`k1:${k1}`)).encode([payload]);
    await expect(new EncryptionCodec(ring(`k2:${k2}`)).decode([sealed!])).rejects.toThrow(/key id "k1", which is not in the codec keyring/);
  });

  it('detects a tampered payload (GCM authentication)', async () => {
    const [sealed] = await new EncryptionCodec(ring(`k1:${k1}`)).encode([payload]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 0xff;
    await expect(new EncryptionCodec(ring(`k1:${k1}`)).decode([{ ...sealed!, data }])).rejects.toThrow();
  });

  it('binds a payload to its key id: relabelled under another key of the ring, it does not open', async () => {
    const codec = new EncryptionCodec(ring(`k1:${k1}\nk2:${k1}`)); // the same bytes under two ids
    const [sealed] = await codec.encode([payload]);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/does not open/);
  });

  it('passes through payloads it did not encrypt', async () => {
    expect(await new EncryptionCodec(ring(`k1:${k1}`)).decode([payload])).toEqual([payload]);
  });

  it('still reads a payload sealed in the old format (no associated data), and writes only the new one', async () => {
    const codec = new EncryptionCodec(ring(`k9:${k1}\n${legacy.key.id}:${legacy.key.base64}`));
    expect(meta(legacyPayload, 'encoding')).toBe(LEGACY_ENCRYPTED_ENCODING);
    const [clear] = await codec.decode([legacyPayload]);
    expect(defaultPayloadConverter.fromPayload(clear!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
    const [resealed] = await codec.encode([clear!]);
    expect(meta(resealed!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    // Old-format bytes presented as new (or the reverse) do not open: the encoding decides the format.
    await expect(codec.decode([{ ...legacyPayload, metadata: { ...legacyPayload.metadata, encoding: Buffer.from(ENCRYPTED_ENCODING) } }])).rejects.toThrow();
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => ring(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
  });

  it('creates a private key file for local development when none is configured', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-'));
    const first = loadKeyring({ dataDir: dir, env: {} });
    expect(first.keys.get(first.activeId)).toHaveLength(32);
    expect(statSync(codecKeyFile(dir)).mode & 0o777).toBe(0o600);
    expect(loadKeyring({ dataDir: dir, env: {} }).keys.get(first.activeId)).toEqual(first.keys.get(first.activeId));
  });

  it('reads the keys from PROVISIONER_CODEC_KEYS, the active key first', () => {
    const keys = loadKeyring({ dataDir: mkdtempSync(path.join(tmpdir(), 'codec-')), env: { PROVISIONER_CODEC_KEYS: `k2:${k2},k1:${k1}` } });
    expect(keys.activeId).toBe('k2');
    expect([...keys.keys.keys()]).toEqual(['k2', 'k1']);
  });

  it('refuses the old JSON keyring in the environment, saying how to write it now', () => {
    const json = JSON.stringify({ active: 'k1', keys: { k1 } });
    expect(() => loadKeyring({ dataDir: tmpdir(), env: { PROVISIONER_CODEC_KEYS: json } })).toThrow(KeyConfigError);
    expect(() => loadKeyring({ dataDir: tmpdir(), env: { PROVISIONER_CODEC_KEYS: json } })).toThrow(/<key id>:<base64> entries/);
  });

  it("moves a local stack's old codec-keys.json into the key file once, so its histories still decode", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-'));
    writeFileSync(path.join(dir, 'codec-keys.json'), JSON.stringify({ active: legacy.key.id, keys: { older: k2, [legacy.key.id]: legacy.key.base64 } }), { mode: 0o600 });
    const keys = loadKeyring({ dataDir: dir, env: {} });
    expect(keys.activeId).toBe(legacy.key.id);
    expect([...keys.keys.keys()].sort()).toEqual([legacy.key.id, 'older'].sort());
    expect(statSync(codecKeyFile(dir)).mode & 0o777).toBe(0o600);
    const [clear] = await new EncryptionCodec(keys).decode([legacyPayload]);
    expect(defaultPayloadConverter.fromPayload(clear!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });
});
