// Keys of the payload codec: several, for rotation. New payloads are encrypted with the active key;
// any known key decrypts. Keys come from a file or the environment, never from policy or events.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../schemas/config.js';

export type CodecKeyring = { activeKeyId: string; keys: ReadonlyMap<string, Buffer> };

const keyFileSchema = z.strictObject({
  active: z.string().min(1),
  keys: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.string().min(1)),
});

function decodeKey(id: string, base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new ConfigError(`codec key ${id} is ${key.length} bytes; give 32 bytes of base64 (AES-256), e.g. \`openssl rand -base64 32\``);
  return key;
}

/** Parses `{"active":"k2","keys":{"k1":"<base64>","k2":"<base64>"}}`. */
export function parseKeyring(json: string, source: string): CodecKeyring {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`codec keys in ${source} are not JSON (${(err as Error).message}); write {"active":"<id>","keys":{"<id>":"<base64>"}}`, { cause: err });
  }
  const parsed = keyFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`codec keys in ${source} are not {"active":"<id>","keys":{"<id>":"<base64>"}}; correct them as listed below`, { details: z.prettifyError(parsed.error).split('\n') });
  const keys = new Map(Object.entries(parsed.data.keys).map(([id, b64]) => [id, decodeKey(id, b64)]));
  if (!keys.has(parsed.data.active)) throw new ConfigError(`codec keys in ${source}: the active key ${parsed.data.active} is not among the keys; add it or name another as active`);
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
    if (env.PROVISIONER_CODEC_KEYS_FILE) throw new ConfigError(`PROVISIONER_CODEC_KEYS_FILE=${file} does not exist; create it or correct the variable`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ active: 'local-1', keys: { 'local-1': randomBytes(32).toString('base64') } }, null, 2), { mode: 0o600 });
  }
  let text: string;
  try {
    chmodSync(file, 0o600);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the codec key file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); make it readable by this user or set PROVISIONER_CODEC_KEYS_FILE to another`, { cause: err });
  }
  return parseKeyring(text, file);
}
