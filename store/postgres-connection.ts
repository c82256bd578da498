// How a configured connection (schemas/config.ts PostgresConnection) becomes node-postgres options,
// and how its failure becomes one line naming the hop. The URL is parsed here rather than handed to
// pg as a connectionString: pg lets the string's parameters override the options given beside it
// (its sslmode would replace our ssl, its empty password our password function).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { PostgresConnection, PostgresTlsMode } from '../schemas/config.js';

/**
 * pg's `ssl` option for a TLS mode, libpq's meaning: verify-full checks the chain (ca, or the
 * system's CAs) and the host name; verify-ca the chain only; require encrypts without verifying
 * anything; disable is plain TCP.
 */
export function sslOption(mode: PostgresTlsMode, ca?: string): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  }
}

/** Where a connection goes and as whom: for messages (never the password). */
export type PostgresTarget = { user: string; host: string; port: number; database: string };

/** The URL's parts, as pg would read them from a connectionString (minus the ssl parameters, which config.ts has checked). */
function parseUrl(url: string): { target: PostgresTarget; password?: string; params: Record<string, string> } {
  const u = new URL(url);
  const params: Record<string, string> = {};
  for (const [k, v] of u.searchParams) if (!k.startsWith('ssl')) params[k] = v;
  const { host: hostParam, port: portParam, user: userParam, password: passwordParam, ...rest } = params;
  const user = userParam ?? (decodeURIComponent(u.username) || process.env.PGUSER || process.env.USER || 'postgres');
  const password = passwordParam ?? (u.password ? decodeURIComponent(u.password) : undefined);
  const host = hostParam ?? (decodeURIComponent(u.hostname.replace(/^\[(.+)\]$/, '$1')) || 'localhost');
  const port = Number(portParam ?? (u.port || 5432));
  const database = decodeURIComponent(u.pathname.slice(1)) || user;
  return { target: { user, host, port, database }, ...(password !== undefined ? { password } : {}), params: rest };
}

export function postgresTarget(connection: PostgresConnection): PostgresTarget {
  return parseUrl(connection.url).target;
}

/** node-postgres client options for a connection: host, role, database, TLS, and the password (re-read from its file for each new connection). */
export function pgClientConfig(connection: PostgresConnection): pg.ClientConfig {
  const { target, password, params } = parseUrl(connection.url);
  const { passwordFile } = connection;
  // Read once: a CA changes rarely, and a missing file should fail at start, not at the first query.
  const { caFile, mode } = connection.tls;
  let ca: string | undefined;
  if (caFile && (mode === 'verify-ca' || mode === 'verify-full')) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new PostgresConnectionError(`postgres: the CA file ${caFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check postgres.tls.caFile (POSTGRES_CA_FILE)`, { cause: err });
    }
  }
  return {
    ...params,
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    ssl: sslOption(mode, ca),
    ...(passwordFile
      ? { password: async () => (await readFile(passwordFile, 'utf8')).trim() }
      : password !== undefined ? { password } : {}),
  };
}

/** A connection to PostgreSQL that failed for a reason the operator fixes: the message is one line, starting `postgres:`. */
export class PostgresConnectionError extends Error {
  override readonly name = 'PostgresConnectionError';
}

const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
]);
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/**
 * The one line for a failed connection, or undefined when err is not a connection problem (a bad
 * query, a bug). Never includes the password: only the role, the server, and the settings to check.
 */
export function postgresConnectionFailure(err: unknown, connection: PostgresConnection): PostgresConnectionError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: string; path?: string; detail?: string };
  const { user, host, port, database } = postgresTarget(connection);
  const { settings, tls } = connection;
  const tlsSettings = 'postgres.tls.mode (POSTGRES_SSLMODE) and postgres.tls.caFile (POSTGRES_CA_FILE)';
  const say = (what: string, check: string) =>
    new PostgresConnectionError(`postgres: ${what} for role "${user}" at ${host}:${port}/${database}; check ${check}`, { cause: err });
  const message = e.message ?? '';
  if (e.code === '28P01') return say('password authentication failed', `${settings.password} or the password in ${settings.url}`);
  if (e.code === '28000' && /no encryption/.test(message)) return say('the server refuses connections without TLS', tlsSettings);
  if (e.code === '28000') return say('the server has no rule admitting this role from here (pg_hba.conf)', `the role in ${settings.url} and ${tlsSettings}`);
  if (e.code === '3D000') return say('the database does not exist', settings.url);
  if (e.code === '42501' && /CONNECT privilege/.test(e.detail ?? '')) return say('the role may not connect to the database', `the role in ${settings.url} (GRANT CONNECT)`);
  if (/does not support SSL/i.test(message)) return say(`the server does not offer TLS (TLS mode ${tls.mode})`, tlsSettings);
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return say("the server's certificate does not name this host", `the host in ${settings.url} (verify-full checks it against the certificate) and ${tlsSettings}`);
  if (e.code && certificateCodes.has(e.code)) return say(`the server's certificate is not trusted (${e.code})`, tlsSettings);
  if (/SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string/.test(message)) return say('no password was given', `${settings.password} or the password in ${settings.url}`);
  if ((e.code === 'ENOENT' || e.code === 'EACCES') && e.path) return say(`the password file ${e.path} cannot be read (${e.code})`, settings.password);
  if (e.code && unreachableCodes.has(e.code)) return say(`the server cannot be reached (${e.code})`, `${settings.url} and that the server runs`);
  if (/timeout|Connection terminated unexpectedly/i.test(message)) return say(`the server did not answer (${message.split('\n')[0]})`, `${settings.url}, ${tlsSettings}, and that the server runs`);
  return undefined;
}
