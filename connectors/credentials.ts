// Connector credentials: named in config as an environment variable or a file (docs/architecture.md#security), never
// given inline, never taken from policy or events. A reader is a function called on every use, so a
// rotated file is picked up without a restart. Secret values never reach a message: errors say
// where a secret should come from, and `redactSecrets` scrubs whatever a target echoes back.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const secretRefSchema = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable') }),
  z.strictObject({ file: z.string().min(1, 'expected a file path') }),
]);

/** Where a secret comes from: `{ env: 'CRM_SCIM_TOKEN' }` or `{ file: '/run/secrets/crm-token' }`. */
export type SecretRef = z.infer<typeof secretRefSchema>;

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

export type SecretReaderOptions = {
  /** What the secret is for, in messages: "the bearer token of app crm". */
  purpose: string;
  env?: NodeJS.ProcessEnv;
  /** Relative file paths are resolved against this folder. */
  root?: string;
};

/**
 * A function returning the secret's current value. Environment variables are read on each call;
 * files are re-read when their modification time or size changes (rotation without restart).
 */
export function secretReader(ref: SecretRef, options: SecretReaderOptions): () => string {
  if ('env' in ref) {
    const env = options.env ?? process.env;
    return () => {
      const value = env[ref.env]?.trim();
      if (!value) throw new CredentialError(`${options.purpose} is read from the environment variable ${ref.env}, which is not set`);
      return value;
    };
  }
  return fileReader(ref.file, options);
}

/**
 * A function returning a file's current contents, trimmed: re-read when its modification time,
 * size or inode changes (a rotated secret or CA bundle is picked up without a restart). Relative
 * paths are resolved against `root`; errors name the file and the purpose, never the contents.
 */
export function fileReader(name: string, options: { purpose: string; root?: string }): () => string {
  const file = path.resolve(options.root ?? process.cwd(), name);
  let cached: { stamp: string; value: string } | undefined;
  return () => {
    let stamp: string;
    try {
      const stat = statSync(file);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      throw new CredentialError(`${options.purpose} is read from the file ${file}, which cannot be read`);
    }
    if (cached?.stamp !== stamp) {
      const value = readFileSync(file, 'utf8').trim();
      if (!value) throw new CredentialError(`${options.purpose} is read from the file ${file}, which is empty`);
      cached = { stamp, value };
    }
    return cached.value;
  };
}

/** A constant secret (tests, or a value the caller already resolved); same shape as a reader. */
export function staticSecret(value: string): () => string {
  return () => value;
}

/** Replaces every occurrence of each secret (and its URL-encoded and base64 forms) with [redacted]. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
      out = out.split(form).join('[redacted]');
    }
  }
  return out;
}

/** Reads secrets for redaction without ever throwing (a missing secret has nothing to redact). */
export function currentSecrets(readers: ReadonlyArray<(() => string) | undefined>): string[] {
  const out: string[] = [];
  for (const read of readers) {
    try {
      if (read) out.push(read());
    } catch {
      // not configured or unreadable: nothing to redact
    }
  }
  return out;
}
