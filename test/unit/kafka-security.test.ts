// Kafka's TLS and SASL settings: what the configuration accepts and refuses (with the message that
// says what to set), how createKafka hands them to kafkajs, and the one `kafka:` line a failed
// connection becomes, without the secret.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { failureLine } from '../../cli/failure.js';
import { KafkaConnectionError, kafkaClientConfig, kafkaConnectionProblem } from '../../kafka/client.js';
import { KafkaTokenError } from '../../kafka/oauth-bearer.js';
import { ConfigError, loadConfig, type Config } from '../../schemas/config.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-kafka-security-'));
const write = (name: string, text: string) => {
  const file = path.join(root, name);
  writeFileSync(file, text);
  return file;
};
const fromYaml = (yaml: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ file: write(`c-${Math.random().toString(36).slice(2)}.yaml`, yaml), env, root });
const refusal = (load: () => unknown): string => {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
};

describe('kafka.tls and kafka.sasl in the configuration', () => {
  it('leaves TLS and SASL off when nothing is set', () => {
    const cfg = loadConfig({ env: {}, root });
    expect(cfg.kafka.tls).toBeUndefined();
    expect(cfg.kafka.sasl).toBeUndefined();
  });

  it('resolves the certificate, key and password files against the project root', () => {
    const cfg = fromYaml('kafka:\n  tls: { caFile: pki/ca.crt, certFile: pki/c.crt, keyFile: pki/c.key }\n  sasl: { mechanism: scram-sha-512, username: svc, passwordFile: secrets/kafka }\n');
    expect(cfg.kafka.tls).toEqual({ caFile: path.join(root, 'pki/ca.crt'), certFile: path.join(root, 'pki/c.crt'), keyFile: path.join(root, 'pki/c.key') });
    expect(cfg.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', passwordFile: path.join(root, 'secrets/kafka') });
  });

  it('turns TLS on from KAFKA_TLS=true, keeping the CA the file names, and takes SASL from the environment', () => {
    const cfg = fromYaml('kafka:\n  tls: { caFile: /etc/kafka-ca.pem }\n', {
      KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'API_KEY', KAFKA_SASL_PASSWORD: 'api-secret',
    });
    expect(cfg.kafka.tls).toEqual({ caFile: '/etc/kafka-ca.pem' });
    expect(cfg.kafka.sasl).toEqual({ mechanism: 'plain', username: 'API_KEY', password: 'api-secret' });
    expect(loadConfig({ env: { KAFKA_TLS: 'true' }, root }).kafka.tls).toEqual({});
    expect(loadConfig({ env: { KAFKA_TLS_CA_FILE: '/ca.pem' }, root }).kafka.tls).toEqual({ caFile: '/ca.pem' });
    expect(fromYaml('kafka:\n  tls: {}\n', { KAFKA_TLS: 'false' }).kafka.tls).toBeUndefined();
    expect(refusal(() => loadConfig({ env: { KAFKA_TLS: 'maybe' }, root }))).toMatch(/at kafka\.tls \(set by KAFKA_TLS\)/);
  });

  it('refuses a client certificate without its key, saying to set both', () => {
    const message = refusal(() => loadConfig({ env: { KAFKA_TLS_CERT_FILE: '/c.crt' }, root }));
    expect(message).toMatch(/a client certificate needs both kafka\.tls\.certFile and kafka\.tls\.keyFile .*set both or neither at kafka\.tls\.certFile \(set by KAFKA_TLS_CERT_FILE\)/);
  });

  it('refuses plain and scram without a username or a password source, naming the settings', () => {
    expect(refusal(() => fromYaml('kafka:\n  sasl: { mechanism: scram-sha-256, passwordFile: p }\n'))).toMatch(/kafka\.sasl\.mechanism scram-sha-256 needs kafka\.sasl\.username \(KAFKA_SASL_USERNAME\) at kafka\.sasl\.username/);
    expect(refusal(() => loadConfig({ env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, root }))).toMatch(/kafka\.sasl\.mechanism plain needs a password: kafka\.sasl\.passwordFile \(KAFKA_SASL_PASSWORD_FILE\) or kafka\.sasl\.password/);
    expect(refusal(() => fromYaml('kafka:\n  sasl: { mechanism: gssapi, username: u, password: p }\n'))).toMatch(/at kafka\.sasl\.mechanism/);
  });

  it('refuses oauthbearer without its token endpoint block, and a token endpoint in clear off this machine', () => {
    expect(refusal(() => fromYaml('kafka:\n  sasl: { mechanism: oauthbearer }\n'))).toMatch(/kafka\.sasl\.mechanism oauthbearer needs kafka\.sasl\.oauthbearer: \{ tokenUrl, clientId, clientSecretFile \}/);
    const block = (url: string) => `kafka:\n  sasl:\n    mechanism: oauthbearer\n    oauthbearer: { tokenUrl: '${url}', clientId: svc, clientSecretFile: s }\n`;
    expect(refusal(() => fromYaml(block('http://idp.example.com/token')))).toMatch(/expected an https:\/\/ URL \(http:\/\/ only to localhost or 127\.0\.0\.1\) at kafka\.sasl\.oauthbearer\.tokenUrl/);
    expect(fromYaml(block('http://127.0.0.1:8080/token')).kafka.sasl?.oauthbearer?.clientSecretFile).toBe(path.join(root, 's'));
    expect(fromYaml(block('https://idp.example.com/oauth2/token')).kafka.sasl?.mechanism).toBe('oauthbearer');
    expect(refusal(() => fromYaml(`${block('https://idp.example.com/t')}    username: u\n`))).toMatch(/oauthbearer takes no username or password/);
  });
});

const kafkaOf = (kafka: Partial<Config['kafka']>) => ({ kafka: { ...loadConfig({ env: {}, root }).kafka, ...kafka } });

describe('createKafka maps the settings to kafkajs', () => {
  it('adds neither ssl nor sasl when the settings have none', () => {
    const options = kafkaClientConfig(kafkaOf({}));
    expect(options).not.toHaveProperty('ssl');
    expect(options).not.toHaveProperty('sasl');
  });

  it('reads the CA, the client certificate and its key, and always verifies the broker', () => {
    const files = { caFile: write('ca.pem', 'CA PEM'), certFile: write('client.pem', 'CERT PEM'), keyFile: write('client.key', 'KEY PEM') };
    expect(kafkaClientConfig(kafkaOf({ tls: files })).ssl).toEqual({ rejectUnauthorized: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
    // TLS with the system CAs (Confluent Cloud, MSK).
    expect(kafkaClientConfig(kafkaOf({ tls: {} })).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('passes plain and scram credentials, the password kept out of any serialisation', () => {
    const sasl = kafkaClientConfig(kafkaOf({ sasl: { mechanism: 'plain', username: 'API_KEY', password: 'api-secret' } })).sasl as { mechanism: string; username: string; password: string };
    expect(sasl).toMatchObject({ mechanism: 'plain', username: 'API_KEY' });
    expect(sasl.password).toBe('api-secret');
    expect(JSON.stringify(sasl)).not.toContain('api-secret');
  });

  it('reads a password file at each authentication, so a rotated password needs no restart', () => {
    const file = write('kafka-password', 'first\n');
    const sasl = kafkaClientConfig(kafkaOf({ sasl: { mechanism: 'scram-sha-512', username: 'svc', passwordFile: file } })).sasl as { mechanism: string; password: string };
    expect(sasl.mechanism).toBe('scram-sha-512');
    expect(sasl.password).toBe('first');
    writeFileSync(file, 'second\n');
    expect(sasl.password).toBe('second');
  });

  it('refuses at once a file it cannot read, naming the setting', () => {
    expect(() => kafkaClientConfig(kafkaOf({ sasl: { mechanism: 'scram-sha-256', username: 'svc', passwordFile: path.join(root, 'missing') } })))
      .toThrow(/^kafka\.sasl\.passwordFile .*missing cannot be read \(ENOENT\); correct kafka\.sasl\.passwordFile/);
    expect(() => kafkaClientConfig(kafkaOf({ tls: { caFile: path.join(root, 'no-ca.pem') } }))).toThrow(/^kafka\.tls\.caFile .* cannot be read/);
  });

  it('gives oauthbearer a token provider', () => {
    const sasl = kafkaClientConfig(kafkaOf({ sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenUrl: 'https://idp.example.com/t', clientId: 'svc', clientSecretFile: '/s' } } })).sasl;
    expect(sasl?.mechanism).toBe('oauthbearer');
    expect(typeof (sasl as { oauthBearerProvider: unknown }).oauthBearerProvider).toBe('function');
  });
});

describe('a failed Kafka connection is one line naming the hop', () => {
  const secured = kafkaOf({
    brokers: ['localhost:19092'],
    tls: { caFile: '/pki/ca.crt' },
    sasl: { mechanism: 'scram-sha-512', username: 'provisioner', password: 'the-real-secret' },
  }).kafka;
  // kafkajs' types declare no constructor arguments; the class takes the message.
  const saslError = (message: string) => new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(message);
  const retried = (err: Error) => new KafkaJSNumberOfRetriesExceeded(err, { retryCount: 5, retryTime: 1000 });

  it('names the broker, the mechanism and the user on a refused password, never the password', () => {
    const line = kafkaConnectionProblem(saslError('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'), secured);
    expect(line).toBe('kafka: authentication failed at localhost:19092 (TLS, SCRAM-SHA-512 as "provisioner"); check kafka.sasl.username and kafka.sasl.password (KAFKA_SASL_PASSWORD), and kafka.sasl.mechanism (scram-sha-512)');
    expect(line).not.toContain('the-real-secret');
    const withFile = { ...secured, sasl: { mechanism: 'scram-sha-256' as const, username: 'svc', passwordFile: '/s/kafka-password' } };
    expect(kafkaConnectionProblem(retried(saslError('SASL SCRAM SHA256 authentication failed')), withFile))
      .toMatch(/^kafka: authentication failed at localhost:19092 \(TLS, SCRAM-SHA-256 as "svc"\); check kafka\.sasl\.username and kafka\.sasl\.passwordFile \(\/s\/kafka-password\)/);
  });

  it('says which setting to check for a mechanism the broker does not offer, or SASL it asks for', () => {
    expect(kafkaConnectionProblem(saslError('SASL SCRAM-SHA-512 mechanism is not supported by the server'), secured))
      .toBe('kafka: the broker localhost:19092 (TLS, SCRAM-SHA-512 as "provisioner") does not accept SASL SCRAM-SHA-512; check kafka.sasl.mechanism');
    // The broker's own answer when the mechanism is not among its sasl.enabled.mechanisms.
    const unsupported = new KafkaJSProtocolError({ message: 'The broker does not support the requested SASL mechanism', type: 'UNSUPPORTED_SASL_MECHANISM', code: 33, retriable: false } as unknown as string);
    expect(kafkaConnectionProblem(unsupported, { ...secured, sasl: { mechanism: 'plain', username: 'u', password: 'p' } }))
      .toBe('kafka: the broker localhost:19092 (TLS, PLAIN as "u") does not accept SASL PLAIN; check kafka.sasl.mechanism');
    expect(kafkaConnectionProblem(saslError('x'), { ...secured, sasl: undefined })).toMatch(/^kafka: the broker localhost:19092 \(TLS, no SASL\) asks for SASL authentication; check kafka\.sasl/);
  });

  it('tells an untrusted broker certificate, a plain listener and a missing broker apart', () => {
    const connection = (code: string) => retried(new KafkaJSConnectionError(`Connection error: ${code}`, { broker: 'localhost:19092', code }));
    expect(kafkaConnectionProblem(connection('SELF_SIGNED_CERT_IN_CHAIN'), secured)).toMatch(/^kafka: TLS: the broker's certificate at localhost:19092 .* is not signed by a trusted CA \(SELF_SIGNED_CERT_IN_CHAIN\); check kafka\.tls\.caFile \(\/pki\/ca\.crt\)/);
    expect(kafkaConnectionProblem(connection('ERR_SSL_WRONG_VERSION_NUMBER'), secured)).toMatch(/^kafka: TLS handshake failed at .*: the listener does not speak TLS/);
    expect(kafkaConnectionProblem(connection('ECONNREFUSED'), secured)).toMatch(/^kafka: no broker answered at localhost:19092 .*\(ECONNREFUSED\); check kafka\.brokers \(KAFKA_BROKERS\)/);
    expect(kafkaConnectionProblem(new KafkaJSConnectionError('Connection timeout', { broker: 'localhost:19092' }), { ...secured, tls: undefined, sasl: undefined }))
      .toMatch(/^kafka: the broker localhost:19092 \(no TLS, no SASL\) closed the connection or did not answer; check kafka\.brokers \(KAFKA_BROKERS\); the listener may require TLS \(kafka\.tls, KAFKA_TLS=true\) or SASL \(kafka\.sasl, KAFKA_SASL_MECHANISM\)$/);
  });

  it('leaves other failures to their own words, and passes a token endpoint refusal through', () => {
    expect(kafkaConnectionProblem(new Error('something else'), secured)).toBeUndefined();
    expect(kafkaConnectionProblem(new TypeError('bug'), secured)).toBeUndefined();
    const token = new KafkaTokenError('kafka: the OAuth token endpoint https://idp/t refused client "svc" (HTTP 401); check ...');
    expect(kafkaConnectionProblem(token, secured)).toBe(token.message);
  });

  it('is the whole line a failed command prints', () => {
    const err = new KafkaConnectionError('kafka: authentication failed at localhost:19092 (TLS, SCRAM-SHA-512 as "provisioner"); check kafka.sasl.username');
    expect(failureLine(err)).toBe(err.message);
  });
});
