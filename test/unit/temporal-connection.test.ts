import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ApiKeySource,
  classifyTlsError,
  connectFailureMessage,
  temporalTls,
  TemporalConnectionError,
  type TemporalSettings,
  type TlsProbe,
} from '../../clients/temporal-connection.js';
import { ConfigError, loadConfig } from '../../schemas/config.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-temporal-'));
const file = (name: string, text: string) => {
  const f = path.join(root, name);
  writeFileSync(f, text);
  return f;
};
const base: TemporalSettings = { address: 'temporal.example.com:7233', namespace: 'acme.a1b2c' };

describe('Temporal connection settings', () => {
  it('connects in plaintext when nothing is set (the local stack)', () => {
    const cfg = loadConfig({ env: {}, root });
    expect(cfg.temporal.tls).toBeUndefined();
    expect(temporalTls(cfg.temporal)).toBeUndefined();
  });

  it('takes TLS, mTLS and the server name from the temporal CLI\'s environment variables, paths resolved against the project root', () => {
    const cfg = loadConfig({ env: { TEMPORAL_TLS_CA: 'pki/ca.crt', TEMPORAL_TLS_CERT: 'pki/client.crt', TEMPORAL_TLS_KEY: '/abs/client.key', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }, root });
    expect(cfg.temporal.tls).toEqual({ caFile: path.join(root, 'pki/ca.crt'), certFile: path.join(root, 'pki/client.crt'), keyFile: '/abs/client.key', serverName: 'temporal.internal' });
  });

  it('turns TLS on with TEMPORAL_TLS=true and keeps what the config file says inside the block', () => {
    expect(loadConfig({ env: { TEMPORAL_TLS: 'true' }, root }).temporal.tls).toEqual({});
    const yaml = file('tls.yaml', 'temporal:\n  tls:\n    serverName: from-file\n');
    expect(loadConfig({ env: { PROVISIONER_CONFIG: yaml, TEMPORAL_TLS: 'true' }, root }).temporal.tls).toEqual({ serverName: 'from-file' });
    expect(loadConfig({ env: { PROVISIONER_CONFIG: yaml, TEMPORAL_TLS: 'false' }, root }).temporal.tls).toBeUndefined();
  });

  it('refuses a client certificate without its key, naming both settings', () => {
    const load = () => loadConfig({ env: { TEMPORAL_TLS_CERT: 'client.crt' }, root });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/temporal\.tls\.certFile and temporal\.tls\.keyFile \(TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY\)/);
  });

  it('refuses a TEMPORAL_TLS that is not true or false, naming the variable', () => {
    expect(() => loadConfig({ env: { TEMPORAL_TLS: 'yes please' }, root })).toThrow(/temporal\.tls \(set by TEMPORAL_TLS\)/);
  });

  it('reads an API key from TEMPORAL_API_KEY or a file (resolved), and the key implies TLS with the system CAs', () => {
    const cfg = loadConfig({ env: { TEMPORAL_API_KEY_FILE: 'secrets/temporal-api-key' }, root });
    expect(cfg.temporal.apiKeyFile).toBe(path.join(root, 'secrets/temporal-api-key'));
    expect(temporalTls({ ...base, apiKey: 'k' })).toEqual({});
  });
});

describe('Temporal connection options', () => {
  it('maps the tls block to the SDK: the CA, the client certificate pair and the server name, read from the files', () => {
    const tls = temporalTls({ ...base, tls: { caFile: file('ca.pem', 'CA'), certFile: file('c.pem', 'CERT'), keyFile: file('k.pem', 'KEY'), serverName: 'temporal.internal' } });
    expect(tls?.serverNameOverride).toBe('temporal.internal');
    expect(Buffer.from(tls!.serverRootCACertificate!).toString()).toBe('CA');
    expect(Buffer.from(tls!.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls!.clientCertPair!.key).toString()).toBe('KEY');
  });

  it('an empty tls block is TLS with the system CAs and no client certificate', () => {
    expect(temporalTls({ ...base, tls: {} })).toEqual({});
  });

  it('a missing certificate file is one temporal: line naming the file and the setting', () => {
    const read = () => temporalTls({ ...base, tls: { caFile: path.join(root, 'nope.pem') } });
    expect(read).toThrow(TemporalConnectionError);
    expect(read).toThrow(/^temporal: cannot read .*nope\.pem \(ENOENT\) at temporal\.example\.com:7233 \(namespace acme\.a1b2c\); check temporal\.tls\.caFile \(TEMPORAL_TLS_CA\)$/);
  });

  it('re-reads the API key file when it changes, and keeps the last key while a rotation is half done', () => {
    const keyFile = file('api-key', 'first-key\n');
    const keys = new ApiKeySource({ ...base, apiKeyFile: keyFile });
    expect(keys.current()).toBe('first-key');
    writeFileSync(keyFile, 'second-key-longer\n');
    utimesSync(keyFile, new Date(), new Date(Date.now() + 5000));
    expect(keys.current()).toBe('second-key-longer');
    expect(new ApiKeySource({ ...base, apiKey: 'inline' }).current()).toBe('inline');
    expect(new ApiKeySource(base).current()).toBeUndefined();
  });

  it('an empty API key file is refused at the first read, and a half-written rotation keeps the last key', () => {
    expect(() => new ApiKeySource({ ...base, apiKeyFile: file('empty-key', '\n') }).current()).toThrow(/^temporal: .*empty-key is empty .*; check temporal\.apiKey or temporal\.apiKeyFile/);
    const keyFile = file('rotating-key', 'the-key\n');
    const keys = new ApiKeySource({ ...base, apiKeyFile: keyFile });
    expect(keys.current()).toBe('the-key');
    writeFileSync(keyFile, '');
    utimesSync(keyFile, new Date(), new Date(Date.now() + 5000));
    expect(keys.current()).toBe('the-key');
    writeFileSync(keyFile, 'the-next-key\n');
    expect(keys.current()).toBe('the-next-key');
  });
});

describe('a failed Temporal connection in one line naming the hop', () => {
  const secret = 'sk-very-secret-api-key';
  const line = (probe: TlsProbe, settings: Partial<TemporalSettings> = {}, cause = { text: 'Failed to connect before the deadline' } as { code?: number; text: string }) =>
    connectFailureMessage({ ...base, ...settings }, probe, cause).message;

  it.each<[string, TlsProbe, Partial<TemporalSettings>, RegExp]>([
    ['nothing listening', { kind: 'unreachable', code: 'ECONNREFUSED' }, {}, /nothing answers \(ECONNREFUSED\) .*check temporal\.address \(TEMPORAL_ADDRESS\)/],
    ['a plaintext server', { kind: 'not-tls' }, { tls: {} }, /the server does not speak TLS .*check temporal\.tls \(TEMPORAL_TLS\)/],
    ['a TLS server, plaintext client', { kind: 'speaks-tls' }, {}, /the server speaks TLS and the client connected without it .*check temporal\.tls/],
    ['the wrong CA on the client', { kind: 'untrusted-server', code: 'SELF_SIGNED_CERT_IN_CHAIN' }, { tls: { caFile: '/x/ca.crt' } }, /not signed by a CA the client trusts \(SELF_SIGNED_CERT_IN_CHAIN\) .*check temporal\.tls\.caFile \(TEMPORAL_TLS_CA\)$/],
    ['a certificate for another name', { kind: 'wrong-name', host: 'temporal.internal' }, { tls: {} }, /does not name temporal\.internal .*check temporal\.tls\.serverName \(TEMPORAL_TLS_SERVER_NAME\)/],
    ['no client certificate', { kind: 'client-cert-required' }, { tls: {} }, /requires a client certificate \(mTLS\) and none is configured .*check temporal\.tls\.certFile and keyFile/],
    ['a client certificate from another CA', { kind: 'client-cert-refused', code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' }, { tls: { certFile: '/c', keyFile: '/k' } }, /refused the client certificate \(ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE\) .*signed by a CA the server trusts/],
  ])('%s', (_, probe, settings, expected) => {
    const message = line(probe, { ...settings, apiKey: secret });
    expect(message).toMatch(/^temporal: /);
    expect(message).toContain('at temporal.example.com:7233 (namespace acme.a1b2c)');
    expect(message).toMatch(expected);
    expect(message).not.toContain(secret);
    expect(message).not.toContain('\n');
  });

  it('a refused API key names the key settings and the namespace, not the key', () => {
    const message = line({ kind: 'unknown', code: 'handshake accepted' }, { apiKey: secret }, { code: 16, text: `Request unauthenticated: bearer ${secret}` });
    expect(message).toBe('temporal: the server refused the API key at temporal.example.com:7233 (namespace acme.a1b2c); check temporal.apiKey or temporal.apiKeyFile (TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE) and temporal.namespace (TEMPORAL_NAMESPACE)');
  });

  it('names the handshake errors of node:tls', () => {
    const err = (code: string, message = code) => Object.assign(new Error(message), { code });
    expect(classifyTlsError(err('ECONNREFUSED'), 'h').kind).toBe('unreachable');
    expect(classifyTlsError(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'h').kind).toBe('untrusted-server');
    expect(classifyTlsError(err('ERR_TLS_CERT_ALTNAME_INVALID'), 'h')).toEqual({ kind: 'wrong-name', host: 'h' });
    expect(classifyTlsError(err('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'h').kind).toBe('client-cert-required');
    expect(classifyTlsError(err('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), 'h').kind).toBe('client-cert-refused');
    expect(classifyTlsError(err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), 'h').kind).toBe('client-cert-refused');
    expect(classifyTlsError(err('ERR_SSL_WRONG_VERSION_NUMBER'), 'h').kind).toBe('not-tls');
  });
});
