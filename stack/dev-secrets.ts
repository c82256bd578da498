// The development secrets of the secured local stack: one random password per file under
// <dataDir>/secrets, made once and kept (servers configured with it go on accepting it), readable by
// the owner only. The configuration names these files (examples/secure-stack.yaml); nothing else does.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The secret in file, made when missing. */
export function ensureDevSecret(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process made it first: theirs is the one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readFileSync(file, 'utf8').trim();
}
