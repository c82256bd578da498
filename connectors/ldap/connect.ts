// Connections to a directory, plain or over TLS, for every ldapts Client of the project (the
// connector's pool, the local slapd's health check and seed, the benchmarks, the tests):
//   ldaps://             TLS from the first byte, verified against the pinned CA (tls.ca) or the
//                        system CAs;
//   ldap:// + startTls   the StartTLS extended operation (RFC 4511 §4.14) before anything else, the
//                        same verification; a connection that could not be upgraded is closed, and a
//                        transparent reconnect by ldapts (which would come back plain) is refused, so
//                        nothing, the bind least of all, is ever sent in clear (fails closed);
//   ldap://              plain: the local development stack only (runtime/production-checks.ts).
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import type { Config } from '../../schemas/config.js';
import { fileReader } from '../credentials.js';

export type LdapTlsOptions = {
  /** The PEM CA bundle the server's certificate must chain to, read on each new connection; default the system CAs. */
  ca?: () => string;
  /** Upgrade an ldap:// connection with StartTLS before the bind. */
  startTls?: boolean;
};

export type LdapConnectOptions = {
  url: string;
  tls?: LdapTlsOptions | undefined;
  /** Per operation (ms). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Replay the bind after ldapts reconnects a dropped connection (never on a StartTLS connection). */
  autoRebind?: boolean;
};

/** A client and the step that makes its connection safe to bind on: StartTLS when configured, else nothing. */
export type LdapConnection = { client: Client; secure: () => Promise<void> };

/** The problem with a URL and TLS settings, or undefined: StartTLS needs ldap://, a pinned CA needs TLS. */
export function ldapTlsProblem(url: string, tls: { caFile?: string | undefined; startTls?: boolean | undefined } | undefined): string | undefined {
  const ldaps = /^ldaps:\/\//i.test(url);
  if (tls?.startTls && ldaps) return 'startTls applies to ldap:// URLs; an ldaps:// URL is TLS already: drop startTls';
  if (tls?.caFile && !ldaps && !tls.startTls) return 'a tls.caFile is given but the ldap:// URL is plain: set tls.startTls: true, or use an ldaps:// URL';
  return undefined;
}

function serverIdentity(url: string): ConnectionOptions {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  // SNI takes a host name, never an address; the certificate is checked against `host` either way.
  return net.isIP(host) ? { host } : { host, servername: host };
}

/** A socket that fails at once: ldapts reconnecting a StartTLS session in clear. */
function refusedSocket(url: string): net.Socket {
  const socket = new net.Socket();
  socket.destroy(new Error(`refusing a plain connection to ${url}: StartTLS is required and a reconnect is upgraded before use`));
  return socket;
}

/** A client for the URL; call `secure()` before the bind (the pool does on every fresh connection). */
export function ldapConnection(options: LdapConnectOptions): LdapConnection {
  const { url, tls } = options;
  const ldaps = /^ldaps:\/\//i.test(url);
  const problem = ldapTlsProblem(url, tls && { caFile: tls.ca ? 'ca' : undefined, startTls: tls.startTls });
  if (problem) throw new TypeError(`LDAP ${url}: ${problem}`);
  const ca = () => (tls?.ca ? { ca: tls.ca() } : {});
  const common = {
    url,
    timeout: options.timeoutMs ?? 10_000,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
  };
  if (!tls?.startTls) {
    const client = new Client({
      ...common,
      // ldapts connects with TLS when the URL is ldaps:// (tlsOptions would force TLS on ldap:// too).
      ...(ldaps ? { tlsOptions: { ...serverIdentity(url), minVersion: 'TLSv1.2' as const, ...ca() } } : {}),
      ...(options.autoRebind ? { autoRebind: true } : {}),
    });
    return { client, secure: async () => undefined };
  }
  let upgrading = false;
  const client = new Client({
    ...common,
    // Only secure() opens a connection; anything else would be plain.
    createConnection: ((port: number, host: string) => (upgrading ? net.connect(port, host) : refusedSocket(url))) as typeof net.connect,
  });
  const secure = async () => {
    // Only secure() connects, so a connected client is an upgraded one.
    if (client.isConnected) return;
    upgrading = true;
    try {
      await client.startTLS({ ...serverIdentity(url), minVersion: 'TLSv1.2', ...ca() });
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    } finally {
      upgrading = false;
    }
  };
  return { client, secure };
}

/** A connected client, upgraded when configured and bound: for one-off administrative calls. */
export async function bindLdap(options: LdapConnectOptions, dn: string, password: string): Promise<Client> {
  const { client, secure } = ldapConnection(options);
  try {
    await secure();
    await client.bind(dn, password);
    return client;
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
}

/** How to reach the main config's directory (the `ldap` section): its URL and TLS settings. */
export function directoryConnectOptions(cfg: Pick<Config, 'ldap'>, options: Omit<LdapConnectOptions, 'url' | 'tls'> = {}): LdapConnectOptions {
  const { caFile, startTls } = cfg.ldap.tls;
  return {
    url: cfg.ldap.url,
    tls: { ...(caFile ? { ca: fileReader(caFile, { purpose: 'the directory CA bundle (LDAP_TLS_CA_FILE, ldap.tls.caFile)' }) } : {}), startTls },
    ...options,
  };
}
