// Keyrings: several keys, for rotation. The first is the active one (it seals, or signs); the others
// stay readable so that rotation never strands old data. One text format for every keyring of the
// project (the payload codec's, the store's key-encryption keys, the audit signing keys): entries
// `<key id>:<base64 bytes>`, separated by commas or new lines (`#` starts a comment), given inline
// in an environment variable, in the file its `_FILE` variable names, or in a default file.
// Errors name the source and the key id, never the key.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../schemas/config.js';

export type KeyEntry = { id: string; material: Buffer };

/** The active key seals; any key of the ring opens what it sealed (by the id kept beside it). */
export type Keyring = { activeId: string; keys: ReadonlyMap<string, Buffer> };

export class KeyConfigError extends ConfigError {
  override readonly name = 'KeyConfigError';
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses `<id>:<base64>` entries; `bytes` is the exact length each key must have. */
export function parseKeyEntries(text: string, source: string, bytes: number): KeyEntry[] {
  const entries: KeyEntry[] = [];
  const items = text.split('\n').flatMap((line) => line.replace(/#.*$/, '').split(','));
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) throw new KeyConfigError(`${source}: expected <key id>:<base64 key>, e.g. audit-2026-01:${'A'.repeat(8)}...; correct the entry`);
    const id = item.slice(0, colon);
    if (!KEY_ID.test(id)) throw new KeyConfigError(`${source}: key id "${id}" must be 1-64 letters, digits, ".", "_" or "-"; rename it`);
    const material = Buffer.from(item.slice(colon + 1), 'base64');
    if (material.length !== bytes) throw new KeyConfigError(`${source}: key ${id} must be ${bytes} bytes of base64, got ${material.length} bytes; generate one with \`openssl rand -base64 ${bytes}\``);
    if (entries.some((e) => e.id === id)) throw new KeyConfigError(`${source}: key id ${id} appears twice; give each key its own id`);
    entries.push({ id, material });
  }
  return entries;
}

export function formatKeyEntry(entry: KeyEntry): string {
  return `${entry.id}:${entry.material.toString('base64')}`;
}

export function readKeyFile(file: string, bytes: number): KeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeyConfigError(`cannot read key file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); make it readable by this user or name another file`, { cause: err });
  }
  return parseKeyEntries(text, `key file ${file}`, bytes);
}

/** Writes a key file readable by its owner only, active entry first; never overwrites one. */
export function createKeyFile(file: string, entries: KeyEntry | KeyEntry[], comment: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = (Array.isArray(entries) ? entries : [entries]).map(formatKeyEntry);
  writeFileSync(file, `# ${comment}\n${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

export type KeySource = {
  /** The variable holding the entries inline; `${name}_FILE` names a file holding them. */
  name: string;
  /** The exact length of each key. */
  bytes: number;
  env: NodeJS.ProcessEnv;
  /** Read when neither variable is set; absent: no keys. */
  defaultFile?: string;
  /** Creates the default file when it is missing (the local stack only): its first entries. */
  generate?: () => KeyEntry | KeyEntry[];
};

/** The entries of a key source: the inline variable, else its _FILE variable, else the default file. */
export function readKeyEntries(source: KeySource): KeyEntry[] {
  const inline = source.env[source.name];
  if (inline) return parseKeyEntries(inline, source.name, source.bytes);
  const file = source.env[`${source.name}_FILE`];
  if (file) return readKeyFile(file, source.bytes);
  if (!source.defaultFile) return [];
  if (!existsSync(source.defaultFile)) {
    if (!source.generate) return [];
    try {
      createKeyFile(source.defaultFile, source.generate(), `generated for the local stack; production sets ${source.name} or ${source.name}_FILE`);
    } catch (err) {
      // Another process created it between our check and our write: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readKeyFile(source.defaultFile, source.bytes);
}

/** The keyring of some entries (the first is active), or undefined when there are none. */
export function keyringOf(entries: KeyEntry[]): Keyring | undefined {
  const first = entries[0];
  return first ? { activeId: first.id, keys: new Map(entries.map((e) => [e.id, e.material])) } : undefined;
}

/** The key a value names by id; the error says which keyring lacks it. */
export function keyById(keyring: Keyring, id: string, keyringName: string): Buffer {
  const key = keyring.keys.get(id);
  if (!key) throw new KeyConfigError(`sealed with key id ${JSON.stringify(id)}, which is not in ${keyringName}: add it back (rotation keeps old keys readable)`);
  return key;
}

export function activeKey(keyring: Keyring): { id: string; key: Buffer } {
  return { id: keyring.activeId, key: keyring.keys.get(keyring.activeId)! };
}
