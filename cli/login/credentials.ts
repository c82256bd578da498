// Where `provisioner login` keeps a person's tokens: $XDG_CONFIG_HOME/provisioner/credentials.json
// (default ~/.config/provisioner/), one entry per issuer, the file 0600 in a 0700 folder, written
// whole to a temporary file and renamed so a reader never sees half of it. The tokens are secrets:
// they are read by the CLI to call the API and never printed.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../schemas/config.js';

export const storedLoginSchema = z.strictObject({
  clientId: z.string().min(1),
  audience: z.string().min(1).optional(),
  tokenEndpoint: z.string().min(1),
  revocationEndpoint: z.string().min(1).optional(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** When the access token expires (ISO 8601), from expires_in or the token's exp. */
  expiresAt: z.iso.datetime(),
  obtainedAt: z.iso.datetime(),
});
export type StoredLogin = z.output<typeof storedLoginSchema>;

const fileSchema = z.strictObject({ version: z.literal(1), issuers: z.record(z.string(), storedLoginSchema) });
type CredentialsFile = z.output<typeof fileSchema>;

/** The credentials file of this user: XDG_CONFIG_HOME (XDG Base Directory spec), else ~/.config. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config');
  return path.join(base, 'provisioner', 'credentials.json');
}

export const issuerKey = (issuer: string) => issuer.replace(/\/+$/, '');

function readAll(file: string): CredentialsFile {
  if (!existsSync(file)) return { version: 1, issuers: {} };
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`the credentials file ${file} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\`, or remove it and run \`provisioner login\``);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ConfigError(`the credentials file ${file} is not valid JSON; remove it and run \`provisioner login\``);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`the credentials file ${file} is not one provisioner wrote; remove it and run \`provisioner login\``);
  return parsed.data;
}

function writeAll(file: string, content: CredentialsFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function readLogin(issuer: string, file = credentialsFile()): StoredLogin | undefined {
  return readAll(file).issuers[issuerKey(issuer)];
}

export function saveLogin(issuer: string, login: StoredLogin, file = credentialsFile()): void {
  const all = readAll(file);
  all.issuers[issuerKey(issuer)] = login;
  writeAll(file, all);
}

/** Removes the issuer's entry (and the file when it was the last); returns the entry it removed. */
export function removeLogin(issuer: string, file = credentialsFile()): StoredLogin | undefined {
  const all = readAll(file);
  const removed = all.issuers[issuerKey(issuer)];
  if (!removed) return undefined;
  delete all.issuers[issuerKey(issuer)];
  if (Object.keys(all.issuers).length === 0) rmSync(file, { force: true });
  else writeAll(file, all);
  return removed;
}

/** The claims of a JWT, decoded without verifying it (the API verifies; this is for showing them). */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
