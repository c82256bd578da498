// The LDAP transport: a small pool of connections shared by all calls (LDAP multiplexes operations
// on one), each opened and bound once however many calls wait for it; the bind password read on
// every bind, so a rotated one is used on the next connection; per-operation and connect timeouts;
// every operation raced with the call's abort signal; errors a verb did not handle classified by
// the result-code table (./result-codes.ts) with the password redacted.
import type { Client, Entry, Filter } from 'ldapts';
import type { Logger } from 'pino';
import type { CallContext } from '../contract.js';
import { redactSecrets } from '../credentials.js';
import { certificateErrorCode } from '../certificates.js';
import { AuthError, type ConnectorError } from '../errors.js';
import { ldapConnection } from './connect.js';
import type { LdapConnectorOptions } from './ldap-connector.js';
import { LdapResult, ldapError, resultCode } from './result-codes.js';
import { inClientSpan } from '../../observability/tracing/client-span.js';

/** The connector's options the transport uses (documented on LdapConnectorOptions), and its logger. */
export type LdapPoolOptions = Pick<LdapConnectorOptions, 'app' | 'url' | 'tls' | 'bindDn' | 'bindPassword' | 'timeoutMs' | 'connectTimeoutMs' | 'connections'> & {
  log?: Logger | undefined;
};

/** Races an ldapts call with the call's abort signal (the server may still finish it). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

export class LdapPool {
  private readonly clients: Array<Client | undefined>;
  private readonly binding = new Map<Client, Promise<void>>();
  /** Each client's StartTLS step (nothing for ldaps:// and plain URLs), run before every bind. */
  private readonly secure = new WeakMap<Client, () => Promise<void>>();
  private turn = 0;
  private closed = false;
  /** The directory's host, for spans (server.address). */
  private readonly server: string;

  constructor(private readonly options: LdapPoolOptions) {
    this.clients = new Array<Client | undefined>(Math.max(1, options.connections ?? 2)).fill(undefined);
    this.server = new URL(options.url).hostname;
  }

  /** Runs one operation on a bound pooled connection, in a client span (`LDAP modify`: the operation, never the DN), timed and logged at debug. */
  async run<T>(op: string, call: CallContext, fn: (client: Client) => Promise<T>): Promise<T> {
    return inClientSpan(`LDAP ${op}`, { 'ldap.operation': op, 'server.address': this.server, 'provisioner.app': this.options.app }, async (span) => {
      try {
        return await this.runOnce(op, call, fn);
      } catch (err) {
        const code = resultCode(err);
        if (code !== undefined) span.setAttribute('ldap.result_code', code);
        throw err;
      }
    });
  }

  private async runOnce<T>(op: string, call: CallContext, fn: (client: Client) => Promise<T>): Promise<T> {
    const started = performance.now();
    const client = await abortable(this.client(), call.signal);
    try {
      const result = await abortable(fn(client), call.signal);
      this.options.log?.debug({ op, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'LDAP operation');
      return result;
    } catch (err) {
      const code = resultCode(err);
      this.options.log?.debug({ op, code: code ?? 'network', ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'LDAP operation failed');
      // The stored bind may be stale (rotated password): start over on the next call.
      if (code === LdapResult.invalidCredentials) {
        const slot = this.clients.indexOf(client);
        if (slot >= 0) this.clients[slot] = undefined;
        void client.unbind().catch(() => undefined);
      }
      throw err;
    }
  }

  /** A search whose failure is classified as an error of `what`. */
  async search(base: string, filter: Filter | undefined, attributes: string[], call: CallContext, what: string, scope: 'base' | 'one' | 'sub' = 'sub'): Promise<Entry[]> {
    try {
      const result = await this.run('search', call, (c) => c.search(base, { scope, ...(filter ? { filter } : {}), attributes }));
      return result.searchEntries;
    } catch (err) {
      throw this.error(what, err);
    }
  }

  /** A connection of its own, bound, outside the pool (a paged search's cookie belongs to its connection). */
  async connect(call: CallContext): Promise<Client> {
    const client = this.newClient();
    try {
      await abortable(this.bind(client), call.signal);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
    return client;
  }

  /** The error for what a verb did not handle: by the result-code table, the password never in it. */
  error(what: string, err: unknown): ConnectorError {
    return ldapError(this.options.app, what, err, (s) => this.redact(s));
  }

  /** Closes the pooled connections; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const clients = this.clients.filter((c): c is Client => !!c);
    this.clients.fill(undefined);
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }

  private newClient(): Client {
    const { client, secure } = ldapConnection({
      url: this.options.url,
      tls: this.options.tls,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      ...(this.options.connectTimeoutMs ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
      // After a dropped connection ldapts reconnects and replays the bind before the next operation
      // (not on StartTLS: that connection is refused, and the next call upgrades and binds again).
      autoRebind: true,
    });
    this.secure.set(client, secure);
    return client;
  }

  /** StartTLS when configured, then the bind; a refused password or an unverified certificate is one `ldap <app>:` line. */
  private async bind(client: Client): Promise<void> {
    const { app, bindDn, url } = this.options;
    try {
      await this.secure.get(client)?.();
      await client.bind(bindDn, this.options.bindPassword());
    } catch (err) {
      if (resultCode(err) === LdapResult.invalidCredentials) {
        throw new AuthError(`ldap ${app}: bind as ${bindDn} refused: invalid credentials (LDAP 49); check the bind password (LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE for the directory)`, app);
      }
      const certificate = certificateErrorCode(err);
      if (certificate) {
        throw new AuthError(`ldap ${app}: the TLS certificate of ${url} could not be verified (${certificate}); check the CA in tls.caFile (LDAP_TLS_CA_FILE for the directory)`, app);
      }
      throw this.error(`${this.options.tls?.startTls ? 'StartTLS and ' : ''}bind as ${bindDn}`, err);
    }
  }

  /** A bound client from the pool, connections opened and bound once however many calls wait. */
  private async client(): Promise<Client> {
    if (this.closed) throw new TypeError(`LDAP connector ${this.options.app} is closed`);
    const slot = this.turn++ % this.clients.length;
    let client = this.clients[slot];
    if (!client) this.clients[slot] = client = this.newClient();
    if (client.isBound) return client;
    let pending = this.binding.get(client);
    if (!pending) {
      pending = this.bind(client).finally(() => this.binding.delete(client!));
      this.binding.set(client, pending);
    }
    try {
      await pending;
    } catch (err) {
      // A refused bind may be a rotated password: the next call starts a fresh connection.
      if (this.clients[slot] === client) this.clients[slot] = undefined;
      void client.unbind().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private redact(text: string): string {
    let secret: string | undefined;
    try {
      secret = this.options.bindPassword();
    } catch {
      secret = undefined;
    }
    return redactSecrets(text, [secret]);
  }
}
