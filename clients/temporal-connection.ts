// The one way to connect to Temporal: the client's Connection and the worker's NativeConnection,
// both from cfg.temporal (address, namespace, tls, apiKey/apiKeyFile). A connection that fails is
// explained in one line naming the hop: `temporal: <what failed> at <address> (namespace <ns>);
// check <which settings>`, without the secret.
//
// Rotation. The API key file is re-read when it changes: the client's Connection asks for the key
// on every call (`apiKey` as a function), the worker's NativeConnection is handed the new key with
// setApiKey(). Certificates cannot be swapped on a running connection: neither Connection nor
// NativeConnection (SDK 1.24) takes new TLS material after connect, so the files are read for each
// new connection, and a long-running process (worker, ingress, api) serves a rotated client
// certificate after its restart.
import { readFileSync, statSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsSocketOptions } from 'node:tls';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { Duration } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../schemas/config.js';

export type TemporalSettings = Pick<Config['temporal'], 'address' | 'namespace' | 'tls' | 'apiKey' | 'apiKeyFile'>;
type WithTemporal = { temporal: TemporalSettings };

/** A connection to Temporal failed; the message is the one line that says which hop and what to check. */
export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';
}

const where = (t: TemporalSettings) => `at ${t.address} (namespace ${t.namespace})`;
const failure = (t: TemporalSettings, what: string, check: string, options?: ErrorOptions) =>
  new TemporalConnectionError(`temporal: ${what} ${where(t)}; check ${check}`, options);

const SETTINGS = {
  address: 'temporal.address (TEMPORAL_ADDRESS)',
  tls: 'temporal.tls (TEMPORAL_TLS)',
  ca: 'temporal.tls.caFile (TEMPORAL_TLS_CA)',
  clientCert: 'temporal.tls.certFile and keyFile (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY)',
  serverName: 'temporal.tls.serverName (TEMPORAL_TLS_SERVER_NAME)',
  apiKey: 'temporal.apiKey or temporal.apiKeyFile (TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE)',
};

function readSetting(t: TemporalSettings, file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw failure(t, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, setting, { cause: err });
  }
}

/** Whether the connection is made over TLS: a tls block, or an API key (Temporal Cloud). */
export const usesTls = (t: TemporalSettings): boolean => Boolean(t.tls || t.apiKey || t.apiKeyFile);

/** The SDK's TLS options from the config (the files read now), or undefined for plaintext. An API key alone means TLS with the system CAs. */
export function temporalTls(t: TemporalSettings): TLSConfig | undefined {
  const tls = t.tls;
  if (!tls) return usesTls(t) ? {} : undefined;
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readSetting(t, tls.caFile, SETTINGS.ca) } : {}),
    ...(tls.certFile && tls.keyFile
      ? { clientCertPair: { crt: readSetting(t, tls.certFile, SETTINGS.clientCert), key: readSetting(t, tls.keyFile, SETTINGS.clientCert) } }
      : {}),
  };
}

/**
 * The API key: apiKeyFile (re-read when its modification time or size changes) or apiKey. When a
 * rotated file cannot be read, the last key read stays in use (the server then says whether it still holds).
 */
export class ApiKeySource {
  private key: string | undefined;
  private seen = '';
  constructor(private readonly t: TemporalSettings) {}

  current(): string | undefined {
    const file = this.t.apiKeyFile;
    if (!file) return this.t.apiKey;
    let stamp: string;
    try {
      const s = statSync(file);
      stamp = `${s.mtimeMs}/${s.size}`;
    } catch (err) {
      if (this.key !== undefined) return this.key;
      throw failure(this.t, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, SETTINGS.apiKey, { cause: err });
    }
    if (stamp !== this.seen) {
      try {
        const text = readSetting(this.t, file, SETTINGS.apiKey).toString('utf8').trim();
        if (!text) throw failure(this.t, `${file} is empty`, SETTINGS.apiKey);
        this.key = text;
        this.seen = stamp;
      } catch (err) {
        // Half-written by a rotation: the last key until the file reads whole (tried again next time).
        if (this.key === undefined) throw err;
      }
    }
    return this.key;
  }
}

/** How often a NativeConnection looks at the API key file for a rotated key. */
const API_KEY_CHECK_MS = 10_000;

/** A client Connection (workflow starts, queries, signals, operator calls) from cfg.temporal. */
export async function connectTemporal(cfg: WithTemporal, opts: { connectTimeout?: Duration } = {}): Promise<Connection> {
  const t = cfg.temporal;
  const keys = new ApiKeySource(t);
  const key = keys.current();
  try {
    return await Connection.connect({
      address: t.address,
      tls: temporalTls(t),
      // Asked on every call: a rotated key file is picked up at the next request.
      ...(key !== undefined ? { apiKey: () => keys.current() ?? key } : {}),
      ...(opts.connectTimeout !== undefined ? { connectTimeout: opts.connectTimeout } : {}),
    });
  } catch (err) {
    throw await explainConnectFailure(t, err);
  }
}

/**
 * A worker's NativeConnection from cfg.temporal; a rotated API key file is handed to it with
 * setApiKey(), looked for every `apiKeyCheckMs` (default 10 s).
 */
export async function connectTemporalNative(cfg: WithTemporal, opts: { apiKeyCheckMs?: number } = {}): Promise<NativeConnection> {
  const t = cfg.temporal;
  const keys = new ApiKeySource(t);
  const key = keys.current();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: t.address, tls: temporalTls(t), ...(key !== undefined ? { apiKey: key } : {}) });
  } catch (err) {
    throw await explainConnectFailure(t, err);
  }
  if (t.apiKeyFile) {
    let last = key;
    const timer = setInterval(() => {
      let next: string | undefined;
      try {
        next = keys.current();
      } catch {
        return;
      }
      if (next === undefined || next === last) return;
      last = next;
      connection.setApiKey(next).catch(() => undefined);
    }, opts.apiKeyCheckMs ?? API_KEY_CHECK_MS);
    timer.unref();
    const close = connection.close.bind(connection);
    connection.close = async () => {
      clearInterval(timer);
      await close();
    };
  }
  return connection;
}

/**
 * The same address, namespace, TLS and API key for a connection the SDK makes itself
 * (TestWorkflowEnvironment.createFromExistingServer in the tests); no key rotation there.
 */
export function existingServerOptions(cfg: WithTemporal): { address: string; namespace: string; connectionOptions: { tls?: TLSConfig; apiKey?: string } } {
  const t = cfg.temporal;
  const key = new ApiKeySource(t).current();
  const tls = temporalTls(t);
  return { address: t.address, namespace: t.namespace, connectionOptions: { ...(tls ? { tls } : {}), ...(key !== undefined ? { apiKey: key } : {}) } };
}

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

/** The innermost gRPC status code and the messages along an error's cause chain. */
function unwrap(err: unknown): { code?: number; text: string } {
  const texts: string[] = [];
  let code: number | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    texts.push(e.message);
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'number') code = c;
  }
  return { code, text: texts.join(' / ') };
}

/** What a TLS handshake with the server, made with the client's own settings, says. */
export type TlsProbe =
  | { kind: 'unreachable'; code: string }
  | { kind: 'not-tls' }
  | { kind: 'untrusted-server'; code: string }
  | { kind: 'wrong-name'; host: string }
  | { kind: 'client-cert-required' }
  | { kind: 'client-cert-refused'; code: string }
  | { kind: 'tls-ok' }
  | { kind: 'speaks-tls' }
  | { kind: 'unknown'; code: string };

const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE']);

/** Names a handshake error of node:tls (or of the socket below it). */
export function classifyTlsError(err: NodeJS.ErrnoException, host: string): TlsProbe {
  const code = err.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH'].includes(code)) return { kind: 'unreachable', code };
  if (UNTRUSTED.has(code)) return { kind: 'untrusted-server', code };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { kind: 'wrong-name', host };
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code)) return { kind: 'client-cert-required' };
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|ACCESS_DENIED|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED)/.test(code)) return { kind: 'client-cert-refused', code };
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|ECONNRESET/.test(code) || /wrong version number|packet length too long/i.test(err.message)) return { kind: 'not-tls' };
  return { kind: 'unknown', code: code || err.message.split('\n')[0]! };
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/**
 * Shakes hands with the server as the client would. With TLS 1.3 the server judges the client's
 * certificate after the client has finished, so the probe waits for the server's first bytes (its
 * HTTP/2 settings: accepted) or its alert (refused).
 */
export async function probeTls(t: TemporalSettings, timeoutMs = 3000): Promise<TlsProbe> {
  const { host, port } = splitAddress(t.address);
  const tls = t.tls ?? {};
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  const options: TlsSocketOptions = {
    host,
    port,
    ALPNProtocols: ['h2'],
    ...(/^[\d.:]+$/.test(tls.serverName ?? host) ? {} : { servername: tls.serverName ?? host }),
    ...(tls.caFile ? { ca: read(tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile ? { cert: read(tls.certFile), key: read(tls.keyFile) } : {}),
  };
  return new Promise((resolve) => {
    const socket = tlsConnect(options);
    const done = (result: TlsProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(socket.authorized ? { kind: 'tls-ok' } : { kind: 'unknown', code: 'timeout' }), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => done(classifyTlsError(err, tls.serverName ?? host)));
    socket.once('data', () => done({ kind: 'tls-ok' }));
    socket.once('end', () => done({ kind: 'client-cert-refused', code: 'closed by the server' }));
  });
}

/** Whether the server speaks TLS at all (the client was configured without it). */
async function speaksTls(t: TemporalSettings, timeoutMs = 3000): Promise<TlsProbe> {
  const { host, port } = splitAddress(t.address);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
    const done = (result: TlsProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ kind: 'unknown', code: 'timeout' }), timeoutMs);
    socket.once('secureConnect', () => done({ kind: 'speaks-tls' }));
    socket.once('error', (err: NodeJS.ErrnoException) => done(classifyTlsError(err, host)));
  });
}

/** Whether anything listens at the address. */
async function reachable(t: TemporalSettings, timeoutMs = 3000): Promise<TlsProbe | undefined> {
  const { host, port } = splitAddress(t.address);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (result: TlsProbe | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ kind: 'unreachable', code: 'ETIMEDOUT' }), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ kind: 'unreachable', code: err.code ?? 'error' }));
  });
}

/** The one line for a failed connection, from the probe's finding (pure: unit-tested). */
export function connectFailureMessage(t: TemporalSettings, probe: TlsProbe, cause: { code?: number; text: string }): TemporalConnectionError {
  const secured = usesTls(t);
  const hasClientCert = Boolean(t.tls?.certFile);
  const hasKey = Boolean(t.apiKey || t.apiKeyFile);
  const options = { cause: cause.text ? new Error(cause.text) : undefined };
  switch (probe.kind) {
    case 'unreachable':
      return failure(t, `nothing answers (${probe.code})`, `${SETTINGS.address} and that the server runs`, options);
    case 'not-tls':
      return failure(t, 'the server does not speak TLS', `${SETTINGS.tls}: leave it out for a plaintext server, or ${SETTINGS.address}`, options);
    case 'speaks-tls':
      return failure(t, 'the server speaks TLS and the client connected without it', `${SETTINGS.tls}, ${SETTINGS.ca} and, for mTLS, ${SETTINGS.clientCert}`, options);
    case 'untrusted-server':
      return failure(t, `the server's certificate is not signed by a CA the client trusts (${probe.code})`, t.tls?.caFile ? SETTINGS.ca : `${SETTINGS.ca}: no CA is set, so only the system CAs are trusted`, options);
    case 'wrong-name':
      return failure(t, `the server's certificate does not name ${probe.host}`, `${SETTINGS.serverName} and ${SETTINGS.address}`, options);
    case 'client-cert-required':
      return hasClientCert
        ? failure(t, 'the server refused the TLS handshake with the client certificate', SETTINGS.clientCert, options)
        : failure(t, 'the server requires a client certificate (mTLS) and none is configured', SETTINGS.clientCert, options);
    case 'client-cert-refused':
      return hasClientCert
        ? failure(t, `the server refused the client certificate (${probe.code})`, `${SETTINGS.clientCert}: a certificate signed by a CA the server trusts, and its key`, options)
        : failure(t, `the server refused the TLS handshake without a client certificate (${probe.code})`, SETTINGS.clientCert, options);
    default:
      if (cause.code === UNAUTHENTICATED || cause.code === PERMISSION_DENIED || /unauthenticated|permission ?denied|api key/i.test(cause.text)) {
        return hasKey
          ? failure(t, 'the server refused the API key', `${SETTINGS.apiKey} and temporal.namespace (TEMPORAL_NAMESPACE)`, options)
          : failure(t, 'the server asks for credentials', `${SETTINGS.apiKey}, or ${SETTINGS.clientCert} for mTLS`, options);
      }
      return failure(
        t,
        `could not connect (${firstLine(cause.text) || ('code' in probe ? probe.code : probe.kind)})`,
        secured ? `${SETTINGS.address}, ${SETTINGS.tls} and ${SETTINGS.apiKey}` : `${SETTINGS.address}, and ${SETTINGS.tls} if the server requires TLS`,
        options,
      );
  }
}

const firstLine = (text: string) => text.split('\n')[0]!.slice(0, 200);

/** Finds out why a connection failed (a TCP connect, then a TLS handshake as the client would) and says it in one line. */
export async function explainConnectFailure(t: TemporalSettings, err: unknown): Promise<TemporalConnectionError> {
  if (err instanceof TemporalConnectionError) return err;
  const cause = unwrap(err);
  let probe: TlsProbe = (await reachable(t)) ?? { kind: 'unknown', code: 'no finding' };
  if (probe.kind !== 'unreachable' && cause.code !== UNAUTHENTICATED && cause.code !== PERMISSION_DENIED) {
    probe = usesTls(t) ? await probeTls(t) : await speaksTls(t);
    // A plaintext client, a server refusing a TLS handshake: it is a plaintext server with another problem.
    if (probe.kind === 'not-tls' && !usesTls(t)) probe = { kind: 'unknown', code: 'plaintext' };
    if (probe.kind === 'tls-ok') probe = { kind: 'unknown', code: 'handshake accepted' };
  }
  return connectFailureMessage(t, probe, cause);
}
