// Key material from the environment or a file, as text entries `<key id>:<base64 bytes>`, separated
// by commas or new lines (`#` starts a comment). The first entry is the active one; the others stay
// readable so that rotation never strands old data. Errors name the source and the key id, never
// the key.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../schemas/config.js';

export type KeyEntry = { id: string; material: Buffer };

export class KeyConfigError extends ConfigError {
  override readonly name = 'KeyConfigError';
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses `<id>:<base64>` entries; `bytes` is the exact length each key must have. */
export function parseKeyEntries(text: string, source: string, bytes: number): KeyEntry[] {
  const entries: KeyEntry[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const item = raw.replace(/#.*$/, '').trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) throw new KeyConfigError(`${source}: expected <key id>:<base64 key>, e.g. audit-2026-01:${'A'.repeat(8)}...`);
    const id = item.slice(0, colon);
    if (!KEY_ID.test(id)) throw new KeyConfigError(`${source}: key id "${id}" must be 1-64 letters, digits, ".", "_" or "-"`);
    const material = Buffer.from(item.slice(colon + 1), 'base64');
    if (material.length !== bytes) throw new KeyConfigError(`${source}: key ${id} must be ${bytes} bytes of base64, got ${material.length} bytes`);
    if (entries.some((e) => e.id === id)) throw new KeyConfigError(`${source}: key id ${id} appears twice`);
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

/** Writes a freshly generated key file readable by its owner only; never overwrites one. */
export function createKeyFile(file: string, entry: KeyEntry, comment: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `# ${comment}\n${formatKeyEntry(entry)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

