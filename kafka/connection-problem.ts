// Why a Kafka connection failed, in the one line a person acts on: the hop, what failed, at which
// broker, as whom, and the settings to check. Never the secret: the line is built from the
// configuration's names and the error's kind, not from what the client was given.
import type { Config } from '../schemas/config.js';
import { KafkaTokenError } from './oauth-bearer.js';

type KafkaSettings = Pick<Config['kafka'], 'brokers' | 'tls' | 'sasl'>;

// Node's TLS verification codes: the broker's certificate does not chain to a trusted CA.
const untrusted = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);
const expired = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
// No broker at the address, or none in time.
const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

type Failure = Error & { code?: string; broker?: string; type?: string };

/** The error and its causes, outermost first (a retried kafkajs error wraps the last attempt's). */
function chain(err: unknown): Failure[] {
  const out: Failure[] = [];
  for (let at: unknown = err; at instanceof Error && !out.includes(at) && out.length < 10; at = at.cause) out.push(at);
  return out;
}

/** Who the client authenticates as: `SCRAM-SHA-512 as "provisioner"`, `OAUTHBEARER as client "id"`, or nobody. */
function identity(sasl: KafkaSettings['sasl']): string {
  if (!sasl) return 'no SASL';
  const mechanism = sasl.mechanism.toUpperCase();
  return sasl.mechanism === 'oauthbearer' ? `${mechanism} as client "${sasl.oauthbearer?.clientId ?? ''}"` : `${mechanism} as "${sasl.username ?? ''}"`;
}

function credentialSettings(sasl: NonNullable<KafkaSettings['sasl']>): string {
  if (sasl.mechanism === 'oauthbearer') return 'kafka.sasl.oauthbearer.clientId and clientSecretFile, and that the token endpoint grants access to this cluster';
  const secret = sasl.passwordFile ? `kafka.sasl.passwordFile (${sasl.passwordFile})` : 'kafka.sasl.password (KAFKA_SASL_PASSWORD)';
  return `kafka.sasl.username and ${secret}, and kafka.sasl.mechanism (${sasl.mechanism})`;
}

/**
 * The `kafka: ...` line for a failed connection (authentication, TLS, no broker), or undefined when
 * the error is something else (a broker's refusal of a request, a bug): those keep their own words.
 */
export function kafkaConnectionProblem(err: unknown, settings: KafkaSettings): string | undefined {
  const errors = chain(err);
  const token = errors.find((e) => e instanceof KafkaTokenError);
  if (token) return token.message;
  if (!errors.some((e) => e.name.startsWith('KafkaJS'))) return undefined;
  const broker = errors.find((e) => e.broker)?.broker ?? settings.brokers.join(',');
  const as = identity(settings.sasl);
  const tls = settings.tls ? 'TLS' : 'no TLS';
  const where = `${broker} (${tls}, ${as})`;
  const at = `at ${where}`;

  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || ['SASL_AUTHENTICATION_FAILED', 'ILLEGAL_SASL_STATE', 'UNSUPPORTED_SASL_MECHANISM'].includes(e.type ?? ''));
  if (sasl) {
    if (!settings.sasl) return `kafka: the broker ${where} asks for SASL authentication; check kafka.sasl (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE)`;
    if (/mechanism is not supported/.test(sasl.message) || sasl.type === 'UNSUPPORTED_SASL_MECHANISM') {
      return `kafka: the broker ${where} does not accept SASL ${settings.sasl.mechanism.toUpperCase()}; check kafka.sasl.mechanism`;
    }
    return `kafka: authentication failed ${at}; check ${credentialSettings(settings.sasl)}`;
  }

  const code = errors.map((e) => e.code).find((c): c is string => typeof c === 'string');
  if (code && untrusted.has(code)) {
    return `kafka: TLS: the broker's certificate ${at} is not signed by a trusted CA (${code}); check kafka.tls.caFile${settings.tls?.caFile ? ` (${settings.tls.caFile})` : ' (unset: the system CAs)'} is the CA that issued the brokers' certificates`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `kafka: TLS: the broker's certificate ${at} is not issued for that host name (${code}); check kafka.brokers names the brokers as their certificates do`;
  }
  if (code && expired.has(code)) return `kafka: TLS: the broker's certificate ${at} is not valid now (${code}); renew the brokers' certificates`;
  if (code && /^ERR_SSL_.*WRONG_VERSION_NUMBER|^EPROTO$|^ERR_SSL_PACKET_LENGTH_TOO_LONG$/.test(code)) {
    return `kafka: TLS handshake failed ${at}: the listener does not speak TLS (${code}); check kafka.tls (KAFKA_TLS) matches the listener's protocol`;
  }
  if (code && /^ERR_SSL_.*(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA)/.test(code)) {
    return `kafka: TLS: the broker ${where} refused the client certificate (${code}); check kafka.tls.certFile and kafka.tls.keyFile`;
  }
  if (code && unreachable.has(code)) {
    return `kafka: no broker answered ${at} (${code}); check kafka.brokers (KAFKA_BROKERS) and that the brokers run`;
  }
  const closed = errors.find((e) => e.name === 'KafkaJSConnectionClosedError' || /Connection timeout|Closed connection|ECONNRESET|socket hang up/.test(e.message) || e.code === 'ECONNRESET');
  if (closed) {
    // A TLS listener drops a client that does not speak TLS; a SASL one a client that does not authenticate.
    const needs = [
      ...(settings.tls ? [] : ['TLS (kafka.tls, KAFKA_TLS=true)']),
      ...(settings.sasl ? [] : ['SASL (kafka.sasl, KAFKA_SASL_MECHANISM)']),
      ...(settings.tls && !settings.tls.certFile ? ['a client certificate (kafka.tls.certFile, keyFile)'] : []),
    ];
    const hint = `check kafka.brokers (KAFKA_BROKERS)${needs.length > 0 ? `; the listener may require ${needs.join(' or ')}` : ''}`;
    return `kafka: the broker ${where} closed the connection or did not answer; ${hint}`;
  }
  return undefined;
}

/** A failure that is a Kafka connection problem, as one line; others as they are. */
export function withKafkaConnectionProblem(err: unknown, settings: KafkaSettings): unknown {
  if (err instanceof KafkaConnectionError) return err;
  const line = kafkaConnectionProblem(err, settings);
  return line ? new KafkaConnectionError(line, { cause: err }) : err;
}

/** A Kafka connection that failed, said in one line (kafkaConnectionProblem). */
export class KafkaConnectionError extends Error {
  override readonly name = 'KafkaConnectionError';
}
