// Production mode (`mode: production`, PROVISIONER_MODE): what would make a long-running process
// unfit to run for a company, one line per problem, so that a start is refused with all of them at
// once (cli/commands/processes.ts, cli/commands/api.ts: exit 2 through the ConfigError path).
// Four kinds of problem, from issue 17, and the audit trail's own (issue 18):
//   - a secret is a development default: the local slapd's bind password, a secret file under
//     <dataDir>/secrets (the development tokens `apps up` writes, the secured stack's passwords),
//     the API JWT secret `api token --dev` generates into <dataDir>;
//   - a key would have to be generated: a keyring with a generator whose variable and _FILE
//     variable are both unset (in production the keyrings never generate: codec/keyring.ts,
//     store/open-store.ts);
//   - a connection to a server off this machine is unencrypted: plain ldap:// without StartTLS, a
//     SCIM app marked insecureHttp, Kafka brokers or Temporal without TLS, PostgreSQL without verified TLS;
//   - the API's people: no identity provider (api.oidc) to verify their tokens, the local stack's
//     development IdP or any provider reached over plain http:, one that maps no group to a role,
//     or an HS256 secret configured (production accepts no development token, so
//     a shared secret there is only a secret to leak).
//   - the audit trail would not survive its host: the audit signing key's file inside the data
//     folder (beside what it signs: whoever takes one takes both), or the checkpoint file there.
//   - approval decisions from the ITSM would be verified with the development ITSM key (issue 18):
//     no itsm.decisionKeys, or keys the local stack generated (under <dataDir>/keys, or carrying
//     the development key's kid).
// Development mode is not checked: the demo and the local stack run as they always have.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { usesTls } from '../clients/temporal-connection.js';
import { CODEC_KEYS_VARIABLE, codecKeyFile } from '../codec/keyring.js';
import { DEV_ITSM_KEY_ID, devItsmKeyFiles } from '../crypto/decision-signatures.js';
import { isInsecureAppUrl, loadConnectorsFile, type ConnectorConfig } from '../connectors/config.js';
import type { SecretRef } from '../connectors/credentials.js';
import { postgresTarget } from '../store/postgres-connection.js';
import { devIdpIssuer } from '../schemas/dev-idp.js';
import { AUDIT_SIGNING_KEY_VARIABLE, defaultKeyPaths, STORE_KEK_VARIABLE } from '../store/store-keys.js';
import { ConfigError, isLoopbackHost, LDAP_DEV_BIND_PASSWORD, ldapBindPasswordProblem, ownerConnection, projectRoot, runtimeConnection, stackPkiDir, type Config } from '../schemas/config.js';

/** The long-running processes; each is checked for what it uses. */
export type LongRunningProcess = 'worker' | 'ingress' | 'api' | 'dev';

export type ProductionCheckInput = {
  cfg: Config;
  process: LongRunningProcess;
  /** Where key variables are read (process.env in a real start). */
  env: NodeJS.ProcessEnv;
  /** The connectors file's entries (the SCIM apps). */
  connectors: readonly ConnectorConfig[];
  /** Relative secret files are relative to this folder (the project root). */
  root?: string;
};

const uses = {
  directory: ['worker', 'dev'],
  apps: ['worker', 'dev'],
  storeKeys: ['worker', 'dev'],
  codecKeys: ['worker', 'ingress', 'api', 'dev'],
  api: ['api', 'dev'],
  itsm: ['ingress', 'dev'],
  kafka: ['worker', 'ingress', 'dev'],
  temporal: ['worker', 'ingress', 'api', 'dev'],
  postgres: ['worker', 'ingress', 'api', 'dev'],
} satisfies Record<string, LongRunningProcess[]>;

const inside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** A secret file the local stack wrote (<dataDir>/secrets/...): a development secret wherever it is named. */
function devSecretFileProblem(cfg: Config, hop: string, what: string, setting: string, file: string | undefined): string | undefined {
  if (!file || !inside(path.join(cfg.dataDir, 'secrets'), file)) return undefined;
  return `${hop}: ${what} is read from ${file}, a development secret the local stack wrote; name the real secret's file in ${setting}`;
}

function directoryProblems(cfg: Config): string[] {
  const problems: string[] = [];
  const missing = ldapBindPasswordProblem(cfg);
  if (missing) problems.push(missing);
  if (!cfg.ldap.bindPasswordFile && cfg.ldap.bindPassword === LDAP_DEV_BIND_PASSWORD) {
    problems.push("ldap: the bind password is the local slapd's development password; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding the directory's own");
  }
  const devFile = devSecretFileProblem(cfg, 'ldap', 'the bind password', 'LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile)', cfg.ldap.bindPasswordFile);
  if (devFile) problems.push(devFile);
  const url = new URL(cfg.ldap.url);
  if (url.protocol === 'ldap:' && !cfg.ldap.tls.startTls && !isLoopbackHost(url.hostname)) {
    problems.push(`ldap: ${cfg.ldap.url} is plain LDAP to a server off this machine (the bind password would travel in clear); use an ldaps:// URL or set LDAP_STARTTLS=true (ldap.tls.startTls)`);
  }
  return problems;
}

function secretFileOf(ref: SecretRef, root: string): string | undefined {
  return 'file' in ref ? path.resolve(root, ref.file) : undefined;
}

function appProblems(cfg: Config, connectors: readonly ConnectorConfig[], root: string): string[] {
  const problems: string[] = [];
  for (const c of connectors) {
    if (c.type === 'scim') {
      const [what, ref, setting] = c.auth.kind === 'bearer' ? ['the bearer token', c.auth.token, 'auth.token'] : ['the OAuth client secret', c.auth.clientSecret, 'auth.clientSecret'];
      const devFile = devSecretFileProblem(cfg, `scim ${c.app}`, what, `${setting} of ${cfg.connectors.file}`, secretFileOf(ref, root));
      if (devFile) problems.push(devFile);
      const clear = [c.baseUrl, ...(c.auth.kind === 'oauth2' ? [c.auth.tokenUrl] : [])].filter(isInsecureAppUrl);
      if (c.insecureHttp && clear.length > 0) {
        problems.push(`scim ${c.app}: insecureHttp: true sends ${what} in clear to ${clear.join(' and ')}; use https:// and remove insecureHttp from ${cfg.connectors.file}`);
      }
    } else {
      const devFile = devSecretFileProblem(cfg, `ldap ${c.app}`, 'the bind password', `bindPassword of ${cfg.connectors.file}`, secretFileOf(c.bindPassword, root));
      if (devFile) problems.push(devFile);
      const url = new URL(c.url);
      if (url.protocol === 'ldap:' && !c.tls?.startTls && !isLoopbackHost(url.hostname)) {
        problems.push(`ldap ${c.app}: ${c.url} is plain LDAP to a server off this machine; use an ldaps:// URL or tls.startTls: true in ${cfg.connectors.file}`);
      }
    }
  }
  return problems;
}

/** A keyring that would generate its key: neither its variable nor its _FILE variable is set. */
function generatedKeyProblem(env: NodeJS.ProcessEnv, name: string, defaultFile: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file && inside(path.dirname(defaultFile), path.resolve(file))) {
    return `keys: ${name}_FILE names ${file}, a key the local stack generated; set it to the production keys' file`;
  }
  if (env[name] || file) return undefined;
  return `keys: ${name} is not set, so a key would be generated into ${defaultFile} (or an earlier generated one used); set ${name}_FILE (or ${name}) to the production keys`;
}

/**
 * The audit trail apart from the data folder: the signing key's file (a key generated under
 * <dataDir>/keys is already refused as generated) and the checkpoint file, when checkpoints go to a
 * file, must live elsewhere (a secrets mount; another host's mount or a WORM store).
 */
function auditProblems(cfg: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const keyFile = env[`${AUDIT_SIGNING_KEY_VARIABLE}_FILE`];
  const generated = path.dirname(defaultKeyPaths(cfg.dataDir).signing);
  if (keyFile && inside(cfg.dataDir, path.resolve(keyFile)) && !inside(generated, path.resolve(keyFile))) {
    problems.push(`audit: ${AUDIT_SIGNING_KEY_VARIABLE}_FILE names ${keyFile}, inside the data folder ${cfg.dataDir}: whoever takes the data takes the key that signs it; keep the signing key apart (a secrets mount such as /run/secrets)`);
  }
  if (cfg.audit.checkpointTo.includes('file') && inside(cfg.dataDir, cfg.audit.checkpointsFile)) {
    problems.push(`audit: checkpoints are written to ${cfg.audit.checkpointsFile}, inside the data folder ${cfg.dataDir}, which does not survive this host; point PROVISIONER_AUDIT_CHECKPOINTS (audit.checkpointsFile) at another host's mount, or set PROVISIONER_AUDIT_CHECKPOINT_TO=kafka (audit.checkpointTo)`);
  }
  return problems;
}

const offMachine = (hostPort: string) => !isLoopbackHost(hostPort.replace(/:\d+$/, ''));

function kafkaProblems(cfg: Config): string[] {
  const { brokers, tls, sasl } = cfg.kafka;
  const problems: string[] = [];
  const remote = brokers.filter(offMachine);
  if (!tls && remote.length > 0) {
    problems.push(`kafka: ${remote.join(', ')} ${remote.length === 1 ? 'is' : 'are'} reached without TLS (events and any SASL password travel in clear); set KAFKA_TLS=true (kafka.tls), with KAFKA_TLS_CA_FILE for a private CA`);
  }
  const devFile = devSecretFileProblem(cfg, 'kafka', 'the SASL password', 'KAFKA_SASL_PASSWORD_FILE (kafka.sasl.passwordFile)', sasl?.passwordFile);
  if (devFile) problems.push(devFile);
  return problems;
}

function temporalProblems(cfg: Config): string[] {
  const { address, apiKeyFile } = cfg.temporal;
  const problems: string[] = [];
  if (offMachine(address) && !usesTls(cfg.temporal)) {
    problems.push(`temporal: ${address} is reached without TLS (workflow payloads are encrypted, but the connection and any API key are not); set TEMPORAL_TLS=true (temporal.tls), with TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY for mTLS or TEMPORAL_API_KEY_FILE for Temporal Cloud`);
  }
  const devFile = devSecretFileProblem(cfg, 'temporal', 'the API key', 'TEMPORAL_API_KEY_FILE (temporal.apiKeyFile)', apiKeyFile);
  if (devFile) problems.push(devFile);
  return problems;
}

function postgresProblems(cfg: Config): string[] {
  const problems: string[] = [];
  const { tls, passwordFile, ownerPasswordFile } = cfg.postgres;
  const owner = ownerConnection(cfg);
  const hosts = new Set([runtimeConnection(cfg), ...(owner ? [owner] : [])].map((c) => postgresTarget(c)).filter((t) => !isLoopbackHost(t.host)).map((t) => `${t.host}:${t.port}`));
  if (hosts.size > 0 && (tls.mode === 'disable' || tls.mode === 'require')) {
    const why = tls.mode === 'disable' ? 'without TLS (the store\'s data and the password travel in clear)' : 'with TLS that verifies nothing (postgres.tls.mode require: anyone on the path can pose as the server)';
    problems.push(`postgres: ${[...hosts].join(', ')} ${hosts.size === 1 ? 'is' : 'are'} reached ${why}; set POSTGRES_SSLMODE=verify-full (postgres.tls.mode), with POSTGRES_CA_FILE for a private CA`);
  }
  if (owner) {
    problems.push(`postgres: this process would hold the schema owner's credentials (DATABASE_OWNER_URL, postgres.ownerUrl), enough to drop the audit chain's triggers; run \`provisioner store migrate\` with them as a deploy step and leave them out of the long-running processes' configuration`);
  }
  for (const [what, setting, file] of [
    ['the runtime role\'s password', 'DATABASE_PASSWORD_FILE (postgres.passwordFile)', passwordFile],
    ['the owner role\'s password', 'DATABASE_OWNER_PASSWORD_FILE (postgres.ownerPasswordFile)', ownerPasswordFile],
  ] as const) {
    const devFile = devSecretFileProblem(cfg, 'postgres', what, setting, file);
    if (devFile) problems.push(devFile);
  }
  return problems;
}

/** Every TLS file the configuration names (CAs, client certificates and keys), with its setting. */
function tlsFiles(cfg: Config, connectors: readonly ConnectorConfig[]): Array<[setting: string, file: string | undefined]> {
  const { kafka, temporal, postgres, ldap } = cfg;
  return [
    ['kafka.tls.caFile', kafka.tls?.caFile], ['kafka.tls.certFile', kafka.tls?.certFile], ['kafka.tls.keyFile', kafka.tls?.keyFile],
    ['temporal.tls.caFile', temporal.tls?.caFile], ['temporal.tls.certFile', temporal.tls?.certFile], ['temporal.tls.keyFile', temporal.tls?.keyFile],
    ['postgres.tls.caFile', postgres.tls.caFile],
    ['ldap.tls.caFile', ldap.tls.caFile],
    ['api.oidc.caFile', cfg.api.oidc?.caFile],
    ...connectors.map((c): [string, string | undefined] => [`tls.caFile of ${c.app} in ${cfg.connectors.file}`, c.tls?.caFile]),
  ];
}

/** The secured local stack's development CA and its certificates (<dataDir>/pki): trusted or presented, never in production. */
function devPkiProblems(cfg: Config, connectors: readonly ConnectorConfig[], root: string): string[] {
  const pki = stackPkiDir(cfg);
  return tlsFiles(cfg, connectors)
    .filter(([, file]) => file !== undefined && inside(pki, path.resolve(root, file)))
    .map(([setting, file]) => `tls: ${setting} names ${file}, the local stack's development CA or certificate; name your organisation's`);
}

function apiProblems(cfg: Config): string[] {
  const problems: string[] = [];
  const { oidc, jwt } = cfg.api;
  if (!oidc) {
    problems.push("api: no identity provider is configured, and production mode accepts only its tokens; set PROVISIONER_OIDC_ISSUER and PROVISIONER_OIDC_AUDIENCE (api.oidc)");
  } else {
    if (!oidc.audience) problems.push("api: api.oidc.audience is not set, and the API accepts only tokens for its own audience; set PROVISIONER_OIDC_AUDIENCE (api.oidc.audience) to the API's identifier at the identity provider");
    // The development IdP is refused as itself (its people and passwords are public); any other
    // http: URL as plain http (the schema allows it only to loopback, for development).
    const devIssuer = oidc.issuer.replace(/\/+$/, '') === devIdpIssuer(cfg);
    if (devIssuer) {
      problems.push(`api: PROVISIONER_OIDC_ISSUER (api.oidc.issuer) ${oidc.issuer} is the local stack's development IdP, whose people and passwords are in examples/dev-idp-people.yaml; set it to your organisation's identity provider`);
    }
    for (const [setting, url] of [['PROVISIONER_OIDC_ISSUER (api.oidc.issuer)', devIssuer ? undefined : oidc.issuer], ['PROVISIONER_OIDC_JWKS_URI (api.oidc.jwksUri)', oidc.jwksUri]] as const) {
      if (url?.startsWith('http:')) problems.push(`api: ${setting} is ${url}, plain http, so the identity provider's keys could be swapped on the way; use its https:// URL`);
    }
    if (Object.keys(oidc.roleMap).length === 0) {
      problems.push(`api: api.oidc.roleMap maps none of the identity provider's groups (claim ${oidc.rolesClaim}) to a role, so every person would be refused; map them, e.g. PROVISIONER_OIDC_ROLE_MAP='{"provisioner-approvers":["approver"]}'`);
    }
  }
  if (jwt.secret || jwt.secretFile) {
    const setting = jwt.secret ? 'PROVISIONER_API_JWT_SECRET (api.jwt.secret)' : `PROVISIONER_API_JWT_SECRET_FILE (api.jwt.secretFile, ${jwt.secretFile})`;
    problems.push(`api: ${setting} configures an HS256 token secret, and production mode accepts no development token; remove it (people sign in with the identity provider)`);
  }
  return problems;
}

/** Decisions on itsm.requests verified with the development ITSM key: none configured, or the generated one named. */
function itsmProblems(cfg: Config): string[] {
  const file = cfg.itsm.decisionKeys;
  const setting = 'PROVISIONER_ITSM_DECISION_KEYS (itsm.decisionKeys)';
  if (!file) {
    return [`itsm: no decision keys, so approval decisions would be verified with the development ITSM key (${devItsmKeyFiles(cfg.dataDir).publicKeys}); set ${setting} to the ITSM's JWKS or PEM public key file`];
  }
  if (inside(path.join(cfg.dataDir, 'keys'), file)) return [`itsm: ${setting} names ${file}, a key the local stack generated; name the ITSM's own public keys`];
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // An unreadable file stops the ingress at start, with its own message.
  }
  if (text.includes(`"${DEV_ITSM_KEY_ID}"`)) return [`itsm: ${file} (${setting}) holds the development ITSM key (kid ${DEV_ITSM_KEY_ID}); name the ITSM's own public keys`];
  return [];
}

/** One line per problem that makes this process unfit for production (pure: the config, the environment, the connector configs). */
export function productionProblems(input: ProductionCheckInput): string[] {
  const { cfg, env } = input;
  const root = input.root ?? projectRoot;
  const on = (users: readonly LongRunningProcess[]) => users.includes(input.process);
  const keys = defaultKeyPaths(cfg.dataDir);
  return [
    ...(on(uses.directory) ? directoryProblems(cfg) : []),
    ...(on(uses.apps) ? appProblems(cfg, input.connectors, root) : []),
    ...(on(uses.codecKeys) ? [generatedKeyProblem(env, CODEC_KEYS_VARIABLE, codecKeyFile(cfg.dataDir))] : []),
    ...(on(uses.storeKeys)
      ? [generatedKeyProblem(env, AUDIT_SIGNING_KEY_VARIABLE, keys.signing), generatedKeyProblem(env, STORE_KEK_VARIABLE, keys.kek)]
      : []),
    ...(on(uses.storeKeys) ? auditProblems(cfg, env) : []),
    ...(on(uses.api) ? apiProblems(cfg) : []),
    ...(on(uses.itsm) ? itsmProblems(cfg) : []),
    ...(on(uses.kafka) ? kafkaProblems(cfg) : []),
    ...(on(uses.temporal) ? temporalProblems(cfg) : []),
    ...(on(uses.postgres) ? postgresProblems(cfg) : []),
    ...devPkiProblems(cfg, input.connectors, root),
  ].filter((line): line is string => line !== undefined);
}

/**
 * In production mode, refuses to start a long-running process with any problem: a ConfigError whose
 * details are the lines (exit 2). Development mode passes untouched.
 */
export function refuseUnfitForProduction(cfg: Config, process: LongRunningProcess, env: NodeJS.ProcessEnv = globalThis.process.env): void {
  if (cfg.mode !== 'production') return;
  const connectors = existsSync(cfg.connectors.file) ? loadConnectorsFile(cfg.connectors.file) : [];
  const problems = productionProblems({ cfg, process, env, connectors });
  if (problems.length === 0) return;
  throw new ConfigError(
    `${process}: refusing to start in production mode (PROVISIONER_MODE=production), ${problems.length} problem${problems.length === 1 ? '' : 's'}; fix each line below, or run in development mode`,
    { details: problems },
  );
}
