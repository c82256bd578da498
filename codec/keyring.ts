// Keys of the payload codec (and of the sealed dead letters), in the project's one keyring format
// (crypto/keyring.ts): PROVISIONER_CODEC_KEYS holds `<key id>:<base64 32 bytes>` entries, active
// first, or PROVISIONER_CODEC_KEYS_FILE names a file of them; otherwise `<dataDir>/keys/codec.key`,
// created with a fresh random key on first use (local development). Keys come from a file or the
// environment, never from policy or events.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KEY_BYTES } from '../crypto/aes-gcm.js';
import { createKeyFile, KeyConfigError, keyringOf, readKeyEntries, type KeyEntry, type Keyring } from '../crypto/keyring.js';

const NAME = 'PROVISIONER_CODEC_KEYS';
/** The variable holding the codec keys (`${CODEC_KEYS_VARIABLE}_FILE` names a file of them). */
export const CODEC_KEYS_VARIABLE = NAME;

export function codecKeyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'codec.key');
}

/**
 * The codec keyring. With neither variable set, the default file is read, and created with a fresh
 * key when missing in development mode only (the default, for the local stack and its tests); in
 * production mode a missing key is an error, never generated.
 */
export function loadKeyring(options: { dataDir: string; env?: NodeJS.ProcessEnv; mode?: 'development' | 'production' }): Keyring {
  const env = options.env ?? process.env;
  refuseJson(env[NAME], NAME);
  const file = env[`${NAME}_FILE`];
  // An unreadable file is reported by the keyring reader below, with what to do about it.
  if (file && existsSync(file)) refuseJson(readIfFile(file), file);
  const defaultFile = codecKeyFile(options.dataDir);
  if (!env[NAME] && !env[`${NAME}_FILE`]) migrateLocalJsonKeys(options.dataDir, defaultFile);
  const keyring = keyringOf(readKeyEntries({
    name: NAME,
    bytes: KEY_BYTES,
    env,
    defaultFile,
    ...(options.mode === 'production' ? {} : { generate: () => ({ id: 'local-1', material: randomBytes(KEY_BYTES) }) }),
  }));
  if (!keyring) {
    if (options.mode === 'production' && !env[NAME] && !env[`${NAME}_FILE`]) {
      throw new KeyConfigError(`${NAME}: no codec key, and production mode generates none; set ${NAME}_FILE (or ${NAME}) to <key id>:<base64 32 bytes> entries`);
    }
    throw new KeyConfigError(`${NAME}: no key given; write at least one <key id>:<base64 32 bytes> entry`);
  }
  return keyring;
}

function readIfFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The keys were once JSON (`{"active":..,"keys":{..}}`); say how to write them now. */
function refuseJson(text: string | undefined, source: string): void {
  if (text?.trimStart().startsWith('{')) {
    throw new KeyConfigError(`${source} holds codec keys in the old JSON form; write them as <key id>:<base64> entries, one a line, the active key first`);
  }
}

/**
 * The local stack kept its codec keys in `<dataDir>/codec-keys.json` before they shared the one
 * keyring format: copied once into the key file (active first), so running histories still decode.
 */
function migrateLocalJsonKeys(dataDir: string, keyFile: string): void {
  const legacy = path.join(dataDir, 'codec-keys.json');
  if (existsSync(keyFile) || !existsSync(legacy)) return;
  let parsed: { active?: unknown; keys?: Record<string, unknown> };
  try {
    parsed = JSON.parse(readFileSync(legacy, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new KeyConfigError(`cannot read the old codec key file ${legacy}: ${(err as Error).message}; move it aside to start with a new key`);
  }
  const entries: KeyEntry[] = Object.entries(parsed.keys ?? {}).map(([id, b64]) => ({ id, material: Buffer.from(String(b64), 'base64') }));
  entries.sort((a, b) => Number(b.id === parsed.active) - Number(a.id === parsed.active));
  try {
    createKeyFile(keyFile, entries, `the codec keys of ${legacy}, active first; production sets ${NAME} or ${NAME}_FILE`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
