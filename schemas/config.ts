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

export const configSchema = z.strictObject({
  /** Running data of the local stack (logs, Kafka logs, Temporal SQLite, pid files). Git-ignored. */
  dataDir: z.string().min(1),
  /** Downloads and builds (Kafka jars, the Temporal binary), shared by every clone. */
  cacheDir: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
  }).prefault({}),
  temporal: z.strictObject({
    external: z.boolean().default(false),
    address: hostPort.default('127.0.0.1:7233'),
    namespace: z.string().default('default'),
    uiPort: port.default(8233),
    /** Temporal CLI version to build with `go install` when none is on PATH or in the cache. */
    cliVersion: z.string().regex(/^v\d+\.\d+\.\d+$/).default('v1.5.1'),
    taskQueue: z.string().default('provisioning'),
  }).prefault({}),
  postgres: z.strictObject({
    external: z.boolean().default(false),
    url: z.string().url().optional(),
    port: port.default(15432),
    database: z.string().default('provisioner'),
  }).prefault({}),
  ldap: z.strictObject({
    external: z.boolean().default(false),
    url: z.string().regex(/^ldaps?:\/\//, 'expected an ldap:// or ldaps:// URL').default('ldap://127.0.0.1:3890'),
    baseDn: z.string().default('dc=provisioner,dc=local'),
    bindDn: z.string().default('cn=admin,dc=provisioner,dc=local'),
    /** Secret: never logged. Only for the local slapd that `stack up` runs. */
    bindPassword: z.string().min(1).default('provisioner-local-admin'),
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
  http: z.strictObject({
    workerPort: port.default(9464),
    ingressPort: port.default(9465),
    devPort: port.default(9466),
  }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/** Environment variables the configuration reads, and where each goes. */
const envMapping: Array<[string, (cfg: Record<string, any>, value: string) => void]> = [
  ['PROVISIONER_DATA', (c, v) => (c.dataDir = v)],
  ['PROVISIONER_CACHE', (c, v) => (c.cacheDir = v)],
  ['LOG_LEVEL', (c, v) => (c.logLevel = v)],
  ['KAFKA_BROKERS', (c, v) => { c.kafka.brokers = v.split(',').map((s) => s.trim()).filter(Boolean); c.kafka.external = true; }],
  ['KAFKA_HOME', (c, v) => (c.kafka.home = v)],
  ['KAFKA_VERSION', (c, v) => (c.kafka.version = v)],
  ['KAFKA_PARTITIONS', (c, v) => (c.kafka.partitions = v)],
  ['TEMPORAL_ADDRESS', (c, v) => { c.temporal.address = v; c.temporal.external = true; }],
  ['TEMPORAL_NAMESPACE', (c, v) => (c.temporal.namespace = v)],
  ['TEMPORAL_TASK_QUEUE', (c, v) => (c.temporal.taskQueue = v)],
  ['DATABASE_URL', (c, v) => { c.postgres.url = v; c.postgres.external = true; }],
  ['LDAP_URL', (c, v) => { c.ldap.url = v; c.ldap.external = true; }],
  ['LDAP_BIND_DN', (c, v) => (c.ldap.bindDn = v)],
  ['LDAP_BIND_PASSWORD', (c, v) => (c.ldap.bindPassword = v)],
  ['PROVISIONER_APPS', (c, v) => (c.apps.file = v)],
  ['PROVISIONER_CONNECTORS', (c, v) => (c.connectors.file = v)],
  ['PROVISIONER_POLICY', (c, v) => (c.policy.dir = v)],
  ['PROVISIONER_PLAN_ONLY', (c, v) => (c.safety.planOnly = v.split(',').map((s) => s.trim()).filter(Boolean))],
  ['PROVISIONER_FENCE_POPULATION', (c, v) => (c.safety.populationEstimate = Number(v))],
];

/** Which environment variable sets which setting, for error messages. */
const envSources: Record<string, string[]> = {
  dataDir: ['PROVISIONER_DATA'], cacheDir: ['PROVISIONER_CACHE'], logLevel: ['LOG_LEVEL'],
  'kafka.brokers': ['KAFKA_BROKERS'], 'kafka.version': ['KAFKA_VERSION'], 'kafka.partitions': ['KAFKA_PARTITIONS'],
  'temporal.address': ['TEMPORAL_ADDRESS'], 'postgres.url': ['DATABASE_URL'], 'ldap.url': ['LDAP_URL'],
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type LoadConfigOptions = {
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; otherwise PROVISIONER_CONFIG, otherwise provisioner.yaml in the project root if present. */
  file?: string;
  root?: string;
};

/** Parses the configuration once. Throws ConfigError with a message that says what to fix. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const root = options.root ?? projectRoot;
  const file = options.file ?? env.PROVISIONER_CONFIG ?? path.join(root, 'provisioner.yaml');
  let fromFile: Record<string, any> = {};
  if (existsSync(file)) {
    try {
      fromFile = (parseYaml(readFileSync(file, 'utf8')) as Record<string, any> | null) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
    }
  } else if (options.file ?? env.PROVISIONER_CONFIG) {
    throw new ConfigError(`config file ${file} does not exist (set PROVISIONER_CONFIG to an existing file or unset it)`);
  }
  const raw: Record<string, any> = {
    dataDir: path.join(root, '.provisioner'),
    cacheDir: path.join(homedir(), '.cache', 'provisioner'),
    ...fromFile,
  };
  for (const section of ['kafka', 'temporal', 'postgres', 'ldap', 'apps', 'connectors', 'policy', 'ldapConnector', 'scimConnector', 'safety', 'http']) raw[section] = { ...(raw[section] ?? {}) };
  for (const [name, apply] of envMapping) {
    const value = env[name];
    if (value !== undefined && value !== '') apply(raw, value);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const setBy = parsed.error.issues
      .map((issue) => issue.path.join('.'))
      .flatMap((p) => envSources[p]?.filter((name) => env[name]).map((name) => `${p} was set by ${name}`) ?? []);
    throw new ConfigError(
      `invalid configuration (${existsSync(file) ? `file ${file} and ` : ''}environment):\n${z.prettifyError(parsed.error)}` +
        (setBy.length > 0 ? `\n(${setBy.join('; ')})` : ''),
    );
  }
  const cfg = parsed.data;
  cfg.dataDir = path.resolve(root, cfg.dataDir);
  cfg.cacheDir = path.resolve(root, cfg.cacheDir);
  cfg.apps.file = path.resolve(root, cfg.apps.file);
  cfg.connectors.file = path.resolve(root, cfg.connectors.file);
  cfg.policy.dir = path.resolve(root, cfg.policy.dir);
  return cfg;
}

/** The PostgreSQL connection string: DATABASE_URL, or the local server that `stack up` runs. */
export function databaseUrl(cfg: Config): string {
  return cfg.postgres.url ?? `postgres://postgres@127.0.0.1:${cfg.postgres.port}/${cfg.postgres.database}`;
}
