// Keys of the payload codec: several, for rotation. New payloads are encrypted with the active key;
// any known key decrypts. Keys come from a file or the environment, never from policy or events.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export type CodecKeyring = { activeKeyId: string; keys: ReadonlyMap<string, Buffer> };

const keyFileSchema = z.strictObject({
  active: z.string().min(1),
  keys: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.string().min(1)),
});

function decodeKey(id: string, base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error(`codec key ${id} must be 32 bytes of base64 (AES-256); it is ${key.length} bytes`);
  return key;
}

/** Parses `{"active":"k2","keys":{"k1":"<base64>","k2":"<base64>"}}`. */
export function parseKeyring(json: string, source: string): CodecKeyring {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`codec keys in ${source} are not JSON: ${(err as Error).message}`);
  }
  const parsed = keyFileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`codec keys in ${source}: ${z.prettifyError(parsed.error)}`);
  const keys = new Map(Object.entries(parsed.data.keys).map(([id, b64]) => [id, decodeKey(id, b64)]));
  if (!keys.has(parsed.data.active)) throw new Error(`codec keys in ${source}: the active key ${parsed.data.active} is not among the keys`);
  return { activeKeyId: parsed.data.active, keys };
}

/**
 * The keyring: PROVISIONER_CODEC_KEYS (the JSON itself), else PROVISIONER_CODEC_KEYS_FILE, else
 * `<dataDir>/codec-keys.json`, created with a fresh random key on first use (local development).
 */
export function loadKeyring(options: { dataDir: string; env?: NodeJS.ProcessEnv }): CodecKeyring {
  const env = options.env ?? process.env;
  if (env.PROVISIONER_CODEC_KEYS) return parseKeyring(env.PROVISIONER_CODEC_KEYS, 'PROVISIONER_CODEC_KEYS');
  const file = env.PROVISIONER_CODEC_KEYS_FILE ?? path.join(options.dataDir, 'codec-keys.json');
  if (!existsSync(file)) {
    if (env.PROVISIONER_CODEC_KEYS_FILE) throw new Error(`PROVISIONER_CODEC_KEYS_FILE=${file} does not exist`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ active: 'local-1', keys: { 'local-1': randomBytes(32).toString('base64') } }, null, 2), { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return parseKeyring(readFileSync(file, 'utf8'), file);
}
