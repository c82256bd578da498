// One configuration for the stack, the processes and the tests: parsed once at start-up from a
// YAML config file (optional) overlaid by environment variables, validated by zod.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The project folder: the nearest ancestor holding package.json (works from the sources and from dist/). */
export const projectRoot = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port, e.g. 127.0.0.1:9092');
/** Organisational units below ldap.baseDn, without the base: `ou=people` or `ou=people,ou=second`. */
const relativeDn = z.string().regex(/^ou=[^,=+]+(,ou=[^,=+]+)*$/i, 'expected organisational units below ldap.baseDn without the base, e.g. ou=people or ou=people,ou=second');
const commaList = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export const configSchema = z.strictObject({
  /** Running data of the local stack (logs, Kafka logs, Temporal SQLite, pid files). Git-ignored. */
  dataDir: z.string().min(1),
  /** Downloads and builds (Kafka jars, the Temporal binary), shared by every clone. */
  cacheDir: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `development` (the demo, the local stack): development defaults and generated keys are accepted.
   * `production`: every process refuses to start, one line per problem, on a development default
   * secret, a key it would have to generate, an unencrypted connection to a non-loopback server, or
   * an API that would trust development tokens (runtime/production-checks.ts).
   */
  mode: z.enum(['development', 'production']).default('development'),
  stack: z.strictObject({
    /**
     * The local stack runs secured (`stack up --secure`, examples/secure-stack.yaml): a development
     * CA in <dataDir>/pki, Kafka on SASL_SSL with SCRAM users, Temporal requiring client
     * certificates, PostgreSQL and slapd over TLS, passwords in <dataDir>/secrets.
     */
    secure: z.boolean().default(false),
  }).prefault({}),
  kafka: z.strictObject({
    /** Set when the user runs their own brokers: the stack then starts none. */
    external: z.boolean().default(false),
    brokers: z.array(hostPort).min(1).default(['127.0.0.1:9092']),
    controllerPort: port.default(9093),
    version: z.string().regex(/^\d+\.\d+\.\d+$/).default('3.9.1'),
    scalaVersion: z.string().default('2.13'),
    /** A Kafka distribution the user already has (bin/ and libs/). */
    home: z.string().optional(),
    partitions: z.coerce.number().int().min(1).max(1000).default(6),
    clientId: z.string().default('provisioner'),
    topics: z
      .strictObject({
        hrLifecycle: z.string().default('hr.lifecycle'),
        itsmRequests: z.string().default('itsm.requests'),
        outcomes: z.string().default('provisioning.outcomes'),
        audit: z.string().default('provisioning.audit'),
      })
      .prefault({}),
    /** Consumer groups; each defaults to one derived from clientId. */
    groups: z
      .strictObject({
        hrIngress: z.string().min(1).optional(),
        itsmIngress: z.string().min(1).optional(),
        /** Remembers how far `dlq redrive` got. */
        dlqRedrive: z.string().min(1).optional(),
      })
      .prefault({}),
  }).prefault({}).transform(({ groups, ...kafka }) => ({
    ...kafka,
    groups: {
      hrIngress: groups.hrIngress ?? `${kafka.clientId}-ingress`,
      itsmIngress: groups.itsmIngress ?? `${kafka.clientId}-ingress-itsm`,
      dlqRedrive: groups.dlqRedrive ?? `${kafka.clientId}-dlq-redrive`,
    },
  })),
  temporal: z.strictObject({
    external: z.boolean().default(false),
    address: hostPort.default('127.0.0.1:7233'),
    /** Workflow ids (`identity/<employeeId>`) are unique per namespace: a second pipeline on the same server takes its own. `stack up` registers it. */
    namespace: z.string().min(1).default('default'),
    uiPort: port.default(8233),
    /** Temporal CLI version to build with `go install` when none is on PATH or in the cache. */
    cliVersion: z.string().regex(/^v\d+\.\d+\.\d+$/).default('v1.5.1'),
    taskQueue: z.string().min(1).default('provisioning'),
    /**
     * TLS to the Temporal frontend (self-hosted with TLS or mTLS, Temporal Cloud). Present = TLS: an
     * empty block trusts the system CAs, caFile trusts that CA instead, certFile + keyFile present a
     * client certificate (mTLS); serverName is the name the server's certificate must carry when it
     * is not the host of `address`. The files are read for each new connection (clients/temporal-connection.ts).
     */
    tls: z.strictObject({
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      serverName: z.string().min(1).optional(),
    }).refine((t) => !t.certFile === !t.keyFile, 'a client certificate needs its key: set both temporal.tls.certFile and temporal.tls.keyFile (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) or neither').optional(),
    /** Secret: never logged. A Temporal Cloud API key (sent as a bearer token); implies TLS, with the system CAs when there is no tls block. */
    apiKey: z.string().min(1).optional(),
    /** A file holding the API key, re-read when it changes (rotation without a restart); wins over apiKey. */
    apiKeyFile: z.string().min(1).optional(),
  }).prefault({}),
  postgres: z.strictObject({
    external: z.boolean().default(false),
    url: z.string().url().optional(),
    port: port.default(15432),
    database: z.string().default('provisioner'),
    /** The PostgreSQL schema holding the store (created and migrated by the worker). */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier (letters, digits, "_"; at most 63)').default('public'),
  }).prefault({}),
  ldap: z.strictObject({
    external: z.boolean().default(false),
    url: z.string().regex(/^ldaps?:\/\//, 'expected an ldap:// or ldaps:// URL').default('ldap://127.0.0.1:3890'),
    baseDn: z.string().default('dc=provisioner,dc=local'),
    bindDn: z.string().default('cn=admin,dc=provisioner,dc=local'),
    /** Secret: never logged. Only for the local slapd that `stack up` runs. */
    bindPassword: z.string().min(1).default('provisioner-local-admin'),
    /** A file holding the bind password, re-read when it changes (rotation without a restart); wins over bindPassword. */
    bindPasswordFile: z.string().min(1).optional(),
    /** Where the LDAP connector keeps people, groups and disabled accounts, below baseDn (see ldapOus). */
    ous: z.strictObject({
      people: relativeDn.default('ou=people'),
      groups: relativeDn.default('ou=groups'),
      disabled: relativeDn.default('ou=disabled'),
    }).prefault({}),
    /**
     * Which of those OUs provisioner creates when missing (`stack up`, `entitlements sync`); an OU not
     * listed is reported missing and left to the directory's owner. List fewer for a directory you do not own.
     */
    manageOus: z.array(z.enum(['people', 'groups', 'disabled'])).default(['people', 'groups', 'disabled']),
  }).prefault({}),
  apps: z.strictObject({
    /** YAML file of the demo SCIM apps `apps up` runs (their own settings; development only). */
    file: z.string().default('config/apps.yaml'),
  }).prefault({}),
  connectors: z.strictObject({
    /** YAML file of how the worker reaches each SCIM application: URL and secret references (connectors/config.ts). */
    file: z.string().default('config/connectors.yaml'),
  }).prefault({}),
  policy: z.strictObject({
    /** The folder of policy YAML files (roles, birthright rules, applications, ...). */
    dir: z.string().default('examples/policy'),
  }).prefault({}),
  ldapConnector: z.strictObject({
    /** How the LDAP connector disables an account: move it to ou=disabled (refint keeps group DNs right), or set an attribute. */
    disable: z.enum(['move', 'attribute']).default('move'),
    maxActivitiesPerSecond: z.number().positive().default(50),
    /** Per application, for its urgent queue (disables, deletes, a termination's revokes): on top of maxActivitiesPerSecond. */
    urgentMaxActivitiesPerSecond: z.number().positive().default(10),
  }).prefault({}),
  scimConnector: z.strictObject({
    /** Per application, server-enforced across all workers (its own task queue). */
    maxActivitiesPerSecond: z.number().positive().default(50),
    /** Per application, for its urgent queue (disables, deletes, a termination's revokes): on top of maxActivitiesPerSecond. */
    urgentMaxActivitiesPerSecond: z.number().positive().default(10),
  }).prefault({}),
  safety: z.strictObject({
    /** Applications in plan-only mode by default: every step is planned, recorded, audited as planned and shown in the outcome, nothing is written. An operator arms one with `provisioner apps arm` (audited; the store's recorded mode then wins over this list). */
    planOnly: z.array(z.string().min(1)).default([]),
    /** An operator's estimate of the fence's population (the share thresholds multiply it) when the policy sets no fencing.population; unset: the identities in the store. The release rule is the policy's (fencing.releasesRequired). */
    populationEstimate: z.number().int().positive().optional(),
  }).prefault({}),
  grantSweep: z.strictObject({
    /** How often the worker's Temporal Schedule sweeps for request grants past their end that nobody revoked (minutes). */
    everyMinutes: z.number().int().min(1).max(24 * 60).default(15),
    /** How long past its end a grant is left to its person's workflow before the sweep steps in (minutes). */
    graceMinutes: z.number().int().min(0).max(24 * 60).default(2),
    /** The most grants one sweep hands to their people's workflows; the rest wait for the next sweep. */
    maxPerRun: z.number().int().min(1).max(10_000).default(500),
  }).prefault({}),
  http: z.strictObject({
    workerPort: port.default(9464),
    ingressPort: port.default(9465),
    devPort: port.default(9466),
    /** The HTTP API (`provisioner api`, and `dev`); 0 picks a free port. */
    apiPort: z.coerce.number().int().min(0).max(65535).default(9467),
  }).prefault({}),
  api: z.strictObject({
    /** Where the CLI's deciding commands call the API; default http://127.0.0.1:<http.apiPort>. */
    url: z.string().optional(),
    /** Origins allowed to call the codec endpoint (the Temporal UI); default the local UI on temporal.uiPort. */
    corsOrigins: z.array(z.string().min(1)).optional(),
    jwt: z.strictObject({
      issuer: z.string().min(1).default('provisioner'),
      audience: z.string().min(1).default('provisioner-api'),
      /** Secret: the HS256 secret itself (at least 32 bytes). Prefer secretFile. */
      secret: z.string().optional(),
      /** A file holding the secret; default <dataDir>/api-jwt-secret when it exists. */
      secretFile: z.string().optional(),
    }).prefault({}),
    /** Secret: the CLI caller's bearer token (`--token-file` wins). */
    token: z.string().optional(),
  }).prefault({}),
  audit: z.strictObject({
    /** The signed checkpoint file of the audit chain; default <dataDir>/audit/checkpoints.jsonl. */
    checkpointsFile: z.string().min(1).optional(),
  }).prefault({}),
}).transform(({ audit, ...cfg }) => ({
  ...cfg,
  audit: { checkpointsFile: audit.checkpointsFile ?? path.join(cfg.dataDir, 'audit', 'checkpoints.jsonl') },
}));

export type Config = z.output<typeof configSchema>;

/**
 * Every environment variable the configuration reads: the setting it sets (path), how its text
 * becomes a value, and what else it implies. The README's configuration table lists the same.
 * Key material (PROVISIONER_CODEC_KEYS, PROVISIONER_AUDIT_SIGNING_KEY, PROVISIONER_STORE_KEK, ...)
 * is not configuration: the keyrings read it where it is used, so it never sits in a Config.
 */
export const envTable: ReadonlyArray<{ env: string; path: string; parse?: (value: string) => unknown; alsoSets?: Record<string, unknown> }> = [
  { env: 'PROVISIONER_DATA', path: 'dataDir' },
  { env: 'PROVISIONER_CACHE', path: 'cacheDir' },
  { env: 'LOG_LEVEL', path: 'logLevel' },
  { env: 'PROVISIONER_MODE', path: 'mode' },
  { env: 'KAFKA_BROKERS', path: 'kafka.brokers', parse: commaList, alsoSets: { 'kafka.external': true } },
  { env: 'KAFKA_HOME', path: 'kafka.home' },
  { env: 'KAFKA_VERSION', path: 'kafka.version' },
  { env: 'KAFKA_PARTITIONS', path: 'kafka.partitions' },
  { env: 'TEMPORAL_ADDRESS', path: 'temporal.address', alsoSets: { 'temporal.external': true } },
  { env: 'TEMPORAL_NAMESPACE', path: 'temporal.namespace' },
  { env: 'TEMPORAL_TASK_QUEUE', path: 'temporal.taskQueue' },
  // The temporal CLI's names. TEMPORAL_TLS=true turns TLS on (system CAs); the file names below imply it.
  { env: 'TEMPORAL_TLS', path: 'temporal.tls', parse: (v) => (/^(true|1)$/i.test(v) ? {} : /^(false|0)$/i.test(v) ? undefined : v) },
  { env: 'TEMPORAL_TLS_CA', path: 'temporal.tls.caFile' },
  { env: 'TEMPORAL_TLS_CERT', path: 'temporal.tls.certFile' },
  { env: 'TEMPORAL_TLS_KEY', path: 'temporal.tls.keyFile' },
  { env: 'TEMPORAL_TLS_SERVER_NAME', path: 'temporal.tls.serverName' },
  { env: 'TEMPORAL_API_KEY', path: 'temporal.apiKey' },
  { env: 'TEMPORAL_API_KEY_FILE', path: 'temporal.apiKeyFile' },
  { env: 'DATABASE_URL', path: 'postgres.url', alsoSets: { 'postgres.external': true } },
  { env: 'PROVISIONER_STORE_SCHEMA', path: 'postgres.schema' },
  { env: 'LDAP_URL', path: 'ldap.url', alsoSets: { 'ldap.external': true } },
  { env: 'LDAP_BIND_DN', path: 'ldap.bindDn' },
  { env: 'LDAP_BIND_PASSWORD', path: 'ldap.bindPassword' },
  { env: 'LDAP_BIND_PASSWORD_FILE', path: 'ldap.bindPasswordFile' },
  { env: 'LDAP_MANAGE_OUS', path: 'ldap.manageOus', parse: (v) => (v.trim() === 'none' ? [] : commaList(v)) },
  { env: 'PROVISIONER_APPS', path: 'apps.file' },
  { env: 'PROVISIONER_CONNECTORS', path: 'connectors.file' },
  { env: 'PROVISIONER_POLICY', path: 'policy.dir' },
  { env: 'PROVISIONER_PLAN_ONLY', path: 'safety.planOnly', parse: commaList },
  { env: 'PROVISIONER_FENCE_POPULATION', path: 'safety.populationEstimate', parse: Number },
  { env: 'PROVISIONER_API_PORT', path: 'http.apiPort' },
  { env: 'PROVISIONER_API_URL', path: 'api.url' },
  { env: 'PROVISIONER_API_CORS_ORIGINS', path: 'api.corsOrigins', parse: (v) => commaList(v).map((o) => o.replace(/\/+$/, '')) },
  { env: 'PROVISIONER_API_JWT_ISSUER', path: 'api.jwt.issuer' },
  { env: 'PROVISIONER_API_JWT_AUDIENCE', path: 'api.jwt.audience' },
  { env: 'PROVISIONER_API_JWT_SECRET', path: 'api.jwt.secret' },
  { env: 'PROVISIONER_API_JWT_SECRET_FILE', path: 'api.jwt.secretFile' },
  { env: 'PROVISIONER_API_TOKEN', path: 'api.token' },
  { env: 'PROVISIONER_AUDIT_CHECKPOINTS', path: 'audit.checkpointsFile' },
];

/**
 * A configuration, key-file or policy-folder problem: the CLI prints `provisioner: <message>` and
 * exits 2, never a stack trace. The message is one line, what is wrong and how to fix it; `details`
 * (a policy's problem list, every invalid setting) may follow it.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  readonly details: readonly string[];
  constructor(message: string, options?: ErrorOptions & { details?: readonly string[] }) {
    super(message, options);
    this.details = options?.details ?? [];
  }
}

export type LoadConfigOptions = {
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; otherwise PROVISIONER_CONFIG, otherwise provisioner.yaml in the project root if present. */
  file?: string;
  root?: string;
};

function setPath(target: Record<string, any>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let at = target;
  for (const key of keys.slice(0, -1)) {
    at[key] = typeof at[key] === 'object' && at[key] !== null ? { ...at[key] } : {};
    at = at[key];
  }
  const last = keys.at(-1)!;
  // A block set by a variable (TEMPORAL_TLS=true) keeps what the file says inside it.
  const isBlock = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  at[last] = isBlock(value) && isBlock(at[last]) ? { ...at[last], ...(value as object) } : value;
}

/** Parses the configuration once. Throws ConfigError with a message that says what to fix. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const root = options.root ?? projectRoot;
  const named = options.file ?? env.PROVISIONER_CONFIG;
  const file = named ?? path.join(root, 'provisioner.yaml');
  let fromFile: unknown = {};
  if (existsSync(file)) {
    try {
      fromFile = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      const reason = ((err as Error).message.split('\n')[0] ?? '').trim();
      throw new ConfigError(`config file ${file} is not valid YAML (${reason}); correct the file or point PROVISIONER_CONFIG at another`, { cause: err });
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) {
      throw new ConfigError(`config file ${file} does not hold a mapping of settings; write it as \`section:\\n  key: value\` (see examples/second-pipeline.yaml)`);
    }
  } else if (named) {
    throw new ConfigError(`config file ${file} does not exist; set PROVISIONER_CONFIG to an existing file or unset it`);
  }
  const raw: Record<string, any> = {
    dataDir: path.join(root, '.provisioner'),
    cacheDir: path.join(homedir(), '.cache', 'provisioner'),
    ...(fromFile as Record<string, unknown>),
  };
  const setBy = new Map<string, string>();
  for (const { env: name, path: dotted, parse, alsoSets } of envTable) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, dotted, parse ? parse(value) : value);
    setBy.set(dotted, name);
    for (const [other, v] of Object.entries(alsoSets ?? {})) setPath(raw, other, v);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // A list's item (ldap.manageOus.0) was set by the variable that set the list.
    const setter = (p: string) => [...setBy].find(([dotted]) => p === dotted || p.startsWith(`${dotted}.`))?.[1];
    const where = (p: string) => (setter(p) ? `set by ${setter(p)}` : existsSync(file) ? `in ${file}` : 'default');
    const issues = parsed.error.issues.map((issue) => {
      const p = issue.path.join('.');
      return `${issue.message} at ${p || '(top level)'} (${where(p)})`;
    });
    throw new ConfigError(
      `invalid configuration: ${issues.join('; ')}; correct ${issues.length === 1 ? 'that setting' : 'those settings'} (the README's configuration table lists each)`,
      { details: z.prettifyError(parsed.error).split('\n') },
    );
  }
  const cfg = parsed.data;
  cfg.dataDir = path.resolve(root, cfg.dataDir);
  cfg.cacheDir = path.resolve(root, cfg.cacheDir);
  cfg.apps.file = path.resolve(root, cfg.apps.file);
  cfg.connectors.file = path.resolve(root, cfg.connectors.file);
  if (cfg.ldap.bindPasswordFile) cfg.ldap.bindPasswordFile = path.resolve(root, cfg.ldap.bindPasswordFile);
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = cfg.temporal.tls?.[key];
    if (file) cfg.temporal.tls![key] = path.resolve(root, file);
  }
  if (cfg.temporal.apiKeyFile) cfg.temporal.apiKeyFile = path.resolve(root, cfg.temporal.apiKeyFile);
  cfg.policy.dir = path.resolve(root, cfg.policy.dir);
  cfg.audit.checkpointsFile = path.resolve(root, cfg.audit.checkpointsFile);
  if (cfg.api.jwt.secretFile) cfg.api.jwt.secretFile = path.resolve(root, cfg.api.jwt.secretFile);
  return cfg;
}

/** The LDAP connector's organisational units, as full DNs under ldap.baseDn. */
export function ldapOus(cfg: Pick<Config, 'ldap'>): { people: string; groups: string; disabled: string } {
  const { ous, baseDn } = cfg.ldap;
  return { people: `${ous.people},${baseDn}`, groups: `${ous.groups},${baseDn}`, disabled: `${ous.disabled},${baseDn}` };
}

/** The secured local stack's configuration file (`stack up --secure`). */
export const SECURE_STACK_CONFIG = 'examples/secure-stack.yaml';

/** Where the secured local stack keeps its development CA and certificates. */
export function stackPkiDir(cfg: Pick<Config, 'dataDir'>): string {
  return path.join(cfg.dataDir, 'pki');
}

/** A development secret of the secured local stack: <dataDir>/secrets/<name>. */
export function stackSecretFile(cfg: Pick<Config, 'dataDir'>, name: string): string {
  return path.join(cfg.dataDir, 'secrets', name);
}

/** The PostgreSQL connection string: DATABASE_URL, or the local server that `stack up` runs. */
export function databaseUrl(cfg: Config): string {
  return cfg.postgres.url ?? `postgres://postgres@127.0.0.1:${cfg.postgres.port}/${cfg.postgres.database}`;
}
