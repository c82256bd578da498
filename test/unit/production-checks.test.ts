// Production mode: each rule of runtime/production-checks.ts, its exact line; and in production the
// keyrings generate nothing.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKeyring } from '../../codec/keyring.js';
import { parseConnectorConfig, type ConnectorConfig } from '../../connectors/config.js';
import { KeyConfigError } from '../../crypto/keyring.js';
import { ensureDevItsmKey } from '../../crypto/decision-signatures.js';
import { productionProblems, refuseUnfitForProduction, type LongRunningProcess } from '../../runtime/production-checks.js';
import { productionReadiness } from '../../cli/commands/config.js';
import { ConfigError, loadConfig } from '../../schemas/config.js';
import { openStore } from '../../store/open-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-production-'));
const data = path.join(root, '.provisioner');
const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
/** Every key and secret given as production would: only the rule under test is broken. */
const fit = {
  PROVISIONER_MODE: 'production',
  PROVISIONER_CODEC_KEYS_FILE: '/run/secrets/codec-keys',
  PROVISIONER_AUDIT_SIGNING_KEY_FILE: '/run/secrets/audit-signing-key',
  PROVISIONER_STORE_KEK_FILE: '/run/secrets/store-kek',
  PROVISIONER_AUDIT_CHECKPOINTS: '/mnt/audit-host/checkpoints.jsonl',
  PROVISIONER_OIDC_ISSUER: 'https://login.example.com',
  PROVISIONER_OIDC_AUDIENCE: 'api://provisioner',
  PROVISIONER_OIDC_ROLE_MAP: '{"provisioner-operators":["operator"]}',
  LDAP_URL: 'ldaps://ldap.example.com',
  LDAP_BIND_PASSWORD_FILE: '/run/secrets/ldap-bind-password',
  PROVISIONER_ITSM_DECISION_KEYS: '/run/secrets/itsm-decisions.jwks.json',
};
const scim = (auth: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConnectorConfig({ type: 'scim', app: 'crm', baseUrl: 'https://crm.example.com/scim/v2', auth, ...extra });

function problems(env: Record<string, string | undefined>, options: { process?: LongRunningProcess; connectors?: ConnectorConfig[] } = {}): string[] {
  const merged = Object.fromEntries(Object.entries({ ...fit, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const cfg = loadConfig({ env: merged, root });
  return productionProblems({ cfg, env: merged, process: options.process ?? 'dev', connectors: options.connectors ?? [], root });
}

describe('production mode refuses', () => {
  it('nothing when every secret, key and connection is production-grade', () => {
    expect(problems({})).toEqual([]);
  });

  it("the local slapd's development bind password", () => {
    expect(problems({ LDAP_BIND_PASSWORD_FILE: undefined, LDAP_BIND_PASSWORD: 'provisioner-local-admin' })).toEqual([
      "ldap: the bind password is the local slapd's development password; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding the directory's own",
    ]);
  });

  it('no bind password at all, where development would have used its default', () => {
    expect(problems({ LDAP_BIND_PASSWORD_FILE: undefined, LDAP_URL: 'ldaps://localhost:6361' })).toEqual([
      'ldap: no bind password in production mode; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding it, or LDAP_BIND_PASSWORD',
    ]);
  });

  it('a bind password file the secured local stack wrote under <dataDir>/secrets', () => {
    const file = path.join(data, 'secrets', 'ldap-bind-password');
    expect(problems({ LDAP_BIND_PASSWORD_FILE: file })).toEqual([
      `ldap: the bind password is read from ${file}, a development secret the local stack wrote; name the real secret's file in LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile)`,
    ]);
  });

  it('a SCIM token `apps up` wrote under <dataDir>/secrets', () => {
    const connectors = [scim({ kind: 'bearer', token: { file: '.provisioner/secrets/crm.scim-token' } })];
    expect(problems({}, { connectors })).toEqual([
      `scim crm: the bearer token is read from ${path.join(data, 'secrets', 'crm.scim-token')}, a development secret the local stack wrote; name the real secret's file in auth.token of ${path.join(root, 'config', 'connectors.yaml')}`,
    ]);
  });

  it('an API without an identity provider: production accepts only its tokens', () => {
    const line = 'api: no identity provider is configured, and production mode accepts only its tokens; set PROVISIONER_OIDC_ISSUER and PROVISIONER_OIDC_AUDIENCE (api.oidc)';
    expect(problems({ PROVISIONER_OIDC_ISSUER: undefined, PROVISIONER_OIDC_AUDIENCE: undefined, PROVISIONER_OIDC_ROLE_MAP: undefined }, { process: 'api' })).toEqual([line]);
    expect(problems({ PROVISIONER_OIDC_ISSUER: undefined, PROVISIONER_OIDC_AUDIENCE: undefined, PROVISIONER_OIDC_ROLE_MAP: undefined }, { process: 'dev' })).toEqual([line]);
    expect(problems({ PROVISIONER_OIDC_ISSUER: undefined, PROVISIONER_OIDC_AUDIENCE: undefined, PROVISIONER_OIDC_ROLE_MAP: undefined }, { process: 'worker' })).toEqual([]);
  });

  it('an identity provider without the audience the API accepts', () => {
    expect(problems({ PROVISIONER_OIDC_AUDIENCE: undefined }, { process: 'api' })).toEqual([
      "api: api.oidc.audience is not set, and the API accepts only tokens for its own audience; set PROVISIONER_OIDC_AUDIENCE (api.oidc.audience) to the API's identifier at the identity provider",
    ]);
  });

  it('an identity provider whose groups map to no role', () => {
    expect(problems({ PROVISIONER_OIDC_ROLE_MAP: undefined }, { process: 'api' })).toEqual([
      `api: api.oidc.roleMap maps none of the identity provider's groups (claim groups) to a role, so every person would be refused; map them, e.g. PROVISIONER_OIDC_ROLE_MAP='{"provisioner-approvers":["approver"]}'`,
    ]);
  });

  it('any HS256 secret: production accepts no development token', () => {
    const file = path.join(data, 'api-jwt-secret');
    expect(problems({ PROVISIONER_API_JWT_SECRET_FILE: file }, { process: 'api' })).toEqual([
      `api: PROVISIONER_API_JWT_SECRET_FILE (api.jwt.secretFile, ${file}) configures an HS256 token secret, and production mode accepts no development token; remove it (people sign in with the identity provider)`,
    ]);
    expect(problems({ PROVISIONER_API_JWT_SECRET: 'x'.repeat(40) }, { process: 'api' })).toEqual([
      'api: PROVISIONER_API_JWT_SECRET (api.jwt.secret) configures an HS256 token secret, and production mode accepts no development token; remove it (people sign in with the identity provider)',
    ]);
    expect(problems({ PROVISIONER_API_JWT_SECRET: 'x'.repeat(40) }, { process: 'worker' })).toEqual([]);
  });

  it('the local stack\'s development IdP, and any identity provider URL over plain http:', () => {
    expect(problems({ PROVISIONER_OIDC_ISSUER: 'http://127.0.0.1:9555', PROVISIONER_IDP_PORT: '9555' }, { process: 'api' })).toEqual([
      "api: PROVISIONER_OIDC_ISSUER (api.oidc.issuer) http://127.0.0.1:9555 is the local stack's development IdP, whose people and passwords are in examples/dev-idp-people.yaml; set it to your organisation's identity provider",
    ]);
    expect(problems({ PROVISIONER_OIDC_ISSUER: 'http://localhost:8443/realms/acme' }, { process: 'api' })).toEqual([
      "api: PROVISIONER_OIDC_ISSUER (api.oidc.issuer) is http://localhost:8443/realms/acme, plain http, so the identity provider's keys could be swapped on the way; use its https:// URL",
    ]);
    expect(problems({ PROVISIONER_OIDC_JWKS_URI: 'http://127.0.0.1:8080/keys' }, { process: 'api' })).toEqual([
      "api: PROVISIONER_OIDC_JWKS_URI (api.oidc.jwksUri) is http://127.0.0.1:8080/keys, plain http, so the identity provider's keys could be swapped on the way; use its https:// URL",
    ]);
    expect(problems({ PROVISIONER_OIDC_ISSUER: 'http://127.0.0.1:9555', PROVISIONER_IDP_PORT: '9555' }, { process: 'worker' })).toEqual([]);
  });

  it("the identity provider's CA from the local stack's development PKI", () => {
    const ca = path.join(data, 'pki', 'ca.pem');
    expect(problems({ PROVISIONER_OIDC_CA_FILE: ca }, { process: 'api' })).toEqual([
      `tls: api.oidc.caFile names ${ca}, the local stack's development CA or certificate; name your organisation's`,
    ]);
  });

  it.each([
    ['PROVISIONER_CODEC_KEYS', path.join(data, 'keys', 'codec.key')],
    ['PROVISIONER_AUDIT_SIGNING_KEY', path.join(data, 'keys', 'audit-signing.key')],
    ['PROVISIONER_STORE_KEK', path.join(data, 'keys', 'store-kek.key')],
  ])('a key that would be generated: %s', (name, file) => {
    expect(problems({ [`${name}_FILE`]: undefined })).toEqual([
      `keys: ${name} is not set, so a key would be generated into ${file} (or an earlier generated one used); set ${name}_FILE (or ${name}) to the production keys`,
    ]);
    expect(problems({ [`${name}_FILE`]: undefined, [name]: key })).toEqual([]);
  });

  it('plain LDAP to a directory off this machine', () => {
    expect(problems({ LDAP_URL: 'ldap://ldap.example.com' })).toEqual([
      'ldap: ldap://ldap.example.com is plain LDAP to a server off this machine (the bind password would travel in clear); use an ldaps:// URL or set LDAP_STARTTLS=true (ldap.tls.startTls)',
    ]);
    expect(problems({ LDAP_URL: 'ldap://ldap.example.com', LDAP_STARTTLS: 'true' })).toEqual([]);
    expect(problems({ LDAP_URL: 'ldap://127.0.0.1:3890' })).toEqual([]);
  });

  it('a SCIM app marked insecureHttp whose URL leaves the machine in clear', () => {
    const connectors = [scim({ kind: 'bearer', token: { env: 'CRM_TOKEN' } }, { baseUrl: 'http://crm.internal/scim/v2', insecureHttp: true })];
    expect(problems({}, { connectors })).toEqual([
      `scim crm: insecureHttp: true sends the bearer token in clear to http://crm.internal/scim/v2; use https:// and remove insecureHttp from ${path.join(root, 'config', 'connectors.yaml')}`,
    ]);
  });

  it('Kafka brokers off this machine without TLS', () => {
    expect(problems({ KAFKA_BROKERS: 'b-1.kafka.example.com:9096,127.0.0.1:9092' })).toEqual([
      'kafka: b-1.kafka.example.com:9096 is reached without TLS (events and any SASL password travel in clear); set KAFKA_TLS=true (kafka.tls), with KAFKA_TLS_CA_FILE for a private CA',
    ]);
    expect(problems({ KAFKA_BROKERS: 'b-1.kafka.example.com:9096', KAFKA_TLS: 'true' })).toEqual([]);
  });

  it('a Kafka SASL password file the secured local stack wrote', () => {
    const file = path.join(data, 'secrets', 'kafka-password');
    expect(problems({ KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'provisioner', KAFKA_SASL_PASSWORD_FILE: file })).toEqual([
      `kafka: the SASL password is read from ${file}, a development secret the local stack wrote; name the real secret's file in KAFKA_SASL_PASSWORD_FILE (kafka.sasl.passwordFile)`,
    ]);
  });

  it('Temporal off this machine without TLS', () => {
    expect(problems({ TEMPORAL_ADDRESS: 'temporal-frontend.internal:7233' })).toEqual([
      'temporal: temporal-frontend.internal:7233 is reached without TLS (workflow payloads are encrypted, but the connection and any API key are not); set TEMPORAL_TLS=true (temporal.tls), with TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY for mTLS or TEMPORAL_API_KEY_FILE for Temporal Cloud',
    ]);
    expect(problems({ TEMPORAL_ADDRESS: 'temporal-frontend.internal:7233', TEMPORAL_TLS: 'true' })).toEqual([]);
    expect(problems({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY_FILE: '/run/secrets/temporal-api-key' })).toEqual([]);
  });

  it('PostgreSQL off this machine without verified TLS', () => {
    const url = 'postgres://provisioner_app@db.example.com:5432/provisioner';
    expect(problems({ DATABASE_URL: url })).toEqual([
      "postgres: db.example.com:5432 is reached without TLS (the store's data and the password travel in clear); set POSTGRES_SSLMODE=verify-full (postgres.tls.mode), with POSTGRES_CA_FILE for a private CA",
    ]);
    expect(problems({ DATABASE_URL: url, POSTGRES_SSLMODE: 'require' })).toEqual([
      'postgres: db.example.com:5432 is reached with TLS that verifies nothing (postgres.tls.mode require: anyone on the path can pose as the server); set POSTGRES_SSLMODE=verify-full (postgres.tls.mode), with POSTGRES_CA_FILE for a private CA',
    ]);
    expect(problems({ DATABASE_URL: url, POSTGRES_SSLMODE: 'verify-full' })).toEqual([]);
  });

  it('a PostgreSQL password file the secured local stack wrote', () => {
    const file = path.join(data, 'secrets', 'postgres-app-password');
    expect(problems({ DATABASE_PASSWORD_FILE: file })).toEqual([
      `postgres: the runtime role's password is read from ${file}, a development secret the local stack wrote; name the real secret's file in DATABASE_PASSWORD_FILE (postgres.passwordFile)`,
    ]);
  });

  it('a SCIM OAuth client secret the local stack wrote', () => {
    const file = path.join(data, 'secrets', 'crm.client-secret');
    const connectors = [scim({ kind: 'oauth2', tokenUrl: 'https://crm.example.com/oauth/token', clientId: 'provisioner', clientSecret: { file } })];
    expect(problems({}, { connectors })).toEqual([
      `scim crm: the OAuth client secret is read from ${file}, a development secret the local stack wrote; name the real secret's file in auth.clientSecret of ${path.join(root, 'config', 'connectors.yaml')}`,
    ]);
  });

  const ldapApp = (url: string, bindPassword: Record<string, string>) =>
    parseConnectorConfig({
      type: 'ldap', app: 'hr-directory', url, bindDn: 'cn=provisioner,dc=example,dc=com', bindPassword, baseDn: 'dc=example,dc=com',
      peopleDn: 'ou=people,dc=example,dc=com', groupsDn: 'ou=groups,dc=example,dc=com', disable: { mode: 'move', disabledDn: 'ou=disabled,dc=example,dc=com' },
    });

  it('an LDAP application reached in plain LDAP off this machine', () => {
    const connectors = [ldapApp('ldap://hr-ldap.example.com', { env: 'HR_LDAP_PASSWORD' })];
    expect(problems({}, { connectors })).toEqual([
      `ldap hr-directory: ldap://hr-ldap.example.com is plain LDAP to a server off this machine; use an ldaps:// URL or tls.startTls: true in ${path.join(root, 'config', 'connectors.yaml')}`,
    ]);
  });

  it("an LDAP application's bind password the local stack wrote", () => {
    const file = path.join(data, 'secrets', 'hr-ldap-password');
    const connectors = [ldapApp('ldaps://hr-ldap.example.com', { file })];
    expect(problems({}, { connectors })).toEqual([
      `ldap hr-directory: the bind password is read from ${file}, a development secret the local stack wrote; name the real secret's file in bindPassword of ${path.join(root, 'config', 'connectors.yaml')}`,
    ]);
  });

  it('a Temporal API key file the local stack wrote', () => {
    const file = path.join(data, 'secrets', 'temporal-api-key');
    expect(problems({ TEMPORAL_API_KEY_FILE: file })).toEqual([
      `temporal: the API key is read from ${file}, a development secret the local stack wrote; name the real secret's file in TEMPORAL_API_KEY_FILE (temporal.apiKeyFile)`,
    ]);
  });

  it("the schema owner's credentials in a long-running process, and their password file the local stack wrote", () => {
    const file = path.join(data, 'secrets', 'postgres-owner-password');
    const held = "postgres: this process would hold the schema owner's credentials (DATABASE_OWNER_URL, postgres.ownerUrl), enough to drop the audit chain's triggers; run `provisioner store migrate` with them as a deploy step and leave them out of the long-running processes' configuration";
    expect(problems({ DATABASE_OWNER_URL: 'postgres://provisioner_owner@127.0.0.1:5432/provisioner' })).toEqual([held]);
    expect(problems({ DATABASE_OWNER_URL: 'postgres://provisioner_owner@127.0.0.1:5432/provisioner', DATABASE_OWNER_PASSWORD_FILE: file })).toEqual([
      held,
      `postgres: the owner role's password is read from ${file}, a development secret the local stack wrote; name the real secret's file in DATABASE_OWNER_PASSWORD_FILE (postgres.ownerPasswordFile)`,
    ]);
  });

  it('the owner role reached off this machine without TLS, even when the runtime role is local', () => {
    expect(problems({ DATABASE_OWNER_URL: 'postgres://provisioner_owner@db.example.com:5432/provisioner' })[0]).toBe(
      "postgres: db.example.com:5432 is reached without TLS (the store's data and the password travel in clear); set POSTGRES_SSLMODE=verify-full (postgres.tls.mode), with POSTGRES_CA_FILE for a private CA",
    );
  });

  it("the local stack's development CA or certificates named for a connection", () => {
    const ca = path.join(data, 'pki', 'ca.crt');
    expect(problems({ KAFKA_TLS_CA_FILE: ca, TEMPORAL_TLS_KEY: path.join(data, 'pki', 'client.key'), TEMPORAL_TLS_CERT: path.join(data, 'pki', 'client.crt') })).toEqual([
      `tls: kafka.tls.caFile names ${ca}, the local stack's development CA or certificate; name your organisation's`,
      `tls: temporal.tls.certFile names ${path.join(data, 'pki', 'client.crt')}, the local stack's development CA or certificate; name your organisation's`,
      `tls: temporal.tls.keyFile names ${path.join(data, 'pki', 'client.key')}, the local stack's development CA or certificate; name your organisation's`,
    ]);
  });

  it("a key file variable naming a key the local stack generated", () => {
    const file = path.join(data, 'keys', 'store-kek.key');
    expect(problems({ PROVISIONER_STORE_KEK_FILE: file })).toEqual([
      `keys: PROVISIONER_STORE_KEK_FILE names ${file}, a key the local stack generated; set it to the production keys' file`,
    ]);
  });

  it('the audit signing key file inside the data folder: apart from what it signs', () => {
    const file = path.join(data, 'secrets', 'audit-signing.key');
    expect(problems({ PROVISIONER_AUDIT_SIGNING_KEY_FILE: file })).toEqual([
      `audit: PROVISIONER_AUDIT_SIGNING_KEY_FILE names ${file}, inside the data folder ${data}: whoever takes the data takes the key that signs it; keep the signing key apart (a secrets mount such as /run/secrets)`,
    ]);
    // A key the local stack generated is refused once, as generated.
    expect(problems({ PROVISIONER_AUDIT_SIGNING_KEY_FILE: path.join(data, 'keys', 'audit-signing.key') })).toEqual([
      `keys: PROVISIONER_AUDIT_SIGNING_KEY_FILE names ${path.join(data, 'keys', 'audit-signing.key')}, a key the local stack generated; set it to the production keys' file`,
    ]);
  });

  it('the checkpoint file inside the data folder, unless checkpoints go to Kafka only', () => {
    const file = path.join(data, 'audit', 'checkpoints.jsonl');
    expect(problems({ PROVISIONER_AUDIT_CHECKPOINTS: undefined })).toEqual([
      `audit: checkpoints are written to ${file}, inside the data folder ${data}, which does not survive this host; point PROVISIONER_AUDIT_CHECKPOINTS (audit.checkpointsFile) at another host's mount, or set PROVISIONER_AUDIT_CHECKPOINT_TO=kafka (audit.checkpointTo)`,
    ]);
    expect(problems({ PROVISIONER_AUDIT_CHECKPOINTS: undefined, PROVISIONER_AUDIT_CHECKPOINT_TO: 'kafka' })).toEqual([]);
    expect(problems({ PROVISIONER_AUDIT_CHECKPOINTS: undefined }, { process: 'ingress' })).toEqual([]);
  });

  it('approval decisions verified with the development ITSM key: none configured, the generated file, or a copy of it', () => {
    expect(problems({ PROVISIONER_ITSM_DECISION_KEYS: undefined })).toEqual([
      `itsm: no decision keys, so approval decisions would be verified with the development ITSM key (${path.join(data, 'keys', 'itsm-dev-decisions.jwks.json')}); set PROVISIONER_ITSM_DECISION_KEYS (itsm.decisionKeys) to the ITSM's JWKS or PEM public key file`,
    ]);
    const generated = ensureDevItsmKey(mkdtempSync(path.join(tmpdir(), 'provisioner-itsm-key-'))).publicKeys;
    const inData = path.join(data, 'keys', 'itsm-dev-decisions.jwks.json');
    expect(problems({ PROVISIONER_ITSM_DECISION_KEYS: inData })).toEqual([
      `itsm: PROVISIONER_ITSM_DECISION_KEYS (itsm.decisionKeys) names ${inData}, a key the local stack generated; name the ITSM's own public keys`,
    ]);
    const copy = path.join(mkdtempSync(path.join(tmpdir(), 'provisioner-itsm-copy-')), 'itsm.jwks.json');
    writeFileSync(copy, readFileSync(generated));
    expect(problems({ PROVISIONER_ITSM_DECISION_KEYS: copy })).toEqual([
      `itsm: ${copy} (PROVISIONER_ITSM_DECISION_KEYS (itsm.decisionKeys)) holds the development ITSM key (kid provisioner-dev-itsm-1); name the ITSM's own public keys`,
    ]);
    // The worker takes no decisions from Kafka.
    expect(problems({ PROVISIONER_ITSM_DECISION_KEYS: undefined }, { process: 'worker' })).toEqual([]);
  });

  it('each process only for what it uses: the ingress needs the codec keys, not the directory', () => {
    expect(problems({ LDAP_URL: 'ldap://ldap.example.com', PROVISIONER_STORE_KEK_FILE: undefined }, { process: 'ingress' })).toEqual([]);
  });

  it('a start with every development default: one line each, as one ConfigError', () => {
    const cfg = loadConfig({ env: { PROVISIONER_MODE: 'production' }, root });
    let refused: unknown;
    try {
      refuseUnfitForProduction(cfg, 'dev', {});
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).message).toBe('dev: refusing to start in production mode (PROVISIONER_MODE=production), 7 problems; fix each line below, or run in development mode');
    expect((refused as ConfigError).details.map((l) => l.split(':')[0])).toEqual(['ldap', 'keys', 'keys', 'keys', 'audit', 'api', 'itsm']);
  });

  it('development mode is not checked', () => {
    expect(() => refuseUnfitForProduction(loadConfig({ env: {}, root }), 'dev', {})).not.toThrow();
  });
});

describe('in production the keyrings never generate', () => {
  it('the codec keyring refuses instead of writing a key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'provisioner-production-keys-'));
    expect(() => loadKeyring({ dataDir: dir, env: {}, mode: 'production' })).toThrow(KeyConfigError);
    expect(() => loadKeyring({ dataDir: dir, env: {}, mode: 'production' })).toThrow(/production mode generates none; set PROVISIONER_CODEC_KEYS_FILE/);
    expect(existsSync(path.join(dir, 'keys', 'codec.key'))).toBe(false);
  });

  it('the store opened in production mode writes no key, even when asked to create them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'provisioner-production-keys-'));
    const cfg = loadConfig({ env: { PROVISIONER_MODE: 'production', PROVISIONER_DATA: dir, DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none' }, root });
    // The keys are read before the store connects; nobody listens on port 9, so the open then fails.
    await expect(openStore(cfg, { createKeys: true, env: {} })).rejects.toThrow(/^postgres: /);
    expect(existsSync(path.join(dir, 'keys'))).toBe(false);
  });
});

describe('provisioner config check', () => {
  it('lists, once each, what production mode would refuse for any process, whatever mode the configuration is in', () => {
    const cfg = loadConfig({ env: { LDAP_URL: 'ldap://ldap.example.com', LDAP_BIND_PASSWORD_FILE: '/run/secrets/ldap' }, root });
    expect(cfg.mode).toBe('development');
    const lines = productionReadiness(cfg, {});
    expect(lines.filter((l) => l.startsWith('keys: PROVISIONER_CODEC_KEYS '))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('ldap: ldap://ldap.example.com is plain LDAP'))).toBe(true);
    expect(lines.some((l) => l.startsWith('api: no identity provider is configured'))).toBe(true);
    expect(productionReadiness(loadConfig({ env: fit, root }), fit)).toEqual([]);
  });
});
