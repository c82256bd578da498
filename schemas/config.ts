// One configuration for the stack, the processes and the tests: parsed once at start-up from a
// YAML config file (optional) overlaid by environment variables, validated by zod.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEV_IDP_ACCESS_TOKEN_TTL_SECONDS } from './dev-idp.js';

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
/** A JSON value from a variable; text that is not JSON is left for the schema to refuse. */
const jsonOrText = (v: string): unknown => {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};
/** `true`/`false` from a variable; anything else is left for the schema to refuse. */
const boolean = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : v);

/** 127.0.0.0/8, ::1 and localhost: addresses that never leave the machine (RFC 6890, RFC 6761 §6.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The local slapd's admin password (`stack up`): a development default, nowhere else. */
export const LDAP_DEV_BIND_PASSWORD = 'provisioner-local-admin';
/** `true` turns a section on with its defaults (`{}`), `false` leaves it off; anything else is left for the schema to refuse. */
const switchOn = (v: string): unknown => (/^(true|1|yes|on)$/i.test(v) ? {} : /^(false|0|no|off)$/i.test(v) ? undefined : v);

/** A URL to call with a secret: https, or plain http only to this machine. */
export const httpsOrLoopback = (u: string): boolean => {
  try {
    const { protocol, hostname } = new URL(u);
    return protocol === 'https:' || (protocol === 'http:' && isLoopbackHost(hostname));
  } catch {
    return false;
  }
};

/** The roles of the API (api/auth.ts re-exports them): what a mapped IdP group grants. */
export const apiRoles = ['approver', 'auditor', 'operator', 'admin'] as const;

/** Signature algorithms an OpenID provider signs people's tokens with: asymmetric only (RFC 7518 §3.1, RFC 8037). */
export const oidcAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const oidcAlgorithm = z.string().superRefine((alg, ctx) => {
  if (/^HS\d+$/i.test(alg) || alg.toLowerCase() === 'none') {
    ctx.addIssue({ code: 'custom', message: `${alg} is not accepted: ${alg.toLowerCase() === 'none' ? 'an unsigned token proves nothing' : 'a shared-secret algorithm lets whoever holds the secret mint any identity'}; an OpenID provider signs with an asymmetric key (e.g. RS256, PS256, ES256, EdDSA)` });
  } else if (!(oidcAlgorithms as readonly string[]).includes(alg)) {
    ctx.addIssue({ code: 'custom', message: `unknown signature algorithm ${alg}; expected some of ${oidcAlgorithms.join(', ')}` });
  }
});

export const apiOidc = z.strictObject({
  /** The OpenID provider's issuer (the `iss` of its tokens); discovery reads <issuer>/.well-known/openid-configuration. */
  issuer: z.string().refine(httpsOrLoopback, 'expected an https:// issuer URL (http:// only to localhost or 127.0.0.1)'),
  /**
   * The `aud` the API accepts: the API's identifier (resource) at the IdP; the CLI asks tokens for
   * it (sent as `audience`, and as `resource` when it is a URI). Required by the API; unset, the CLI
   * takes the IdP's default.
   */
  audience: z.string().min(1).optional(),
  /** The CLI's public client at the IdP (device authorization grant, no secret). */
  cliClientId: z.string().min(1).default('provisioner-cli'),
  /** The IdP's JWKS; default the discovery document's jwks_uri. */
  jwksUri: z.string().refine(httpsOrLoopback, 'expected an https:// URL (http:// only to localhost or 127.0.0.1)').optional(),
  /** The signature algorithms accepted (asymmetric only); default every one in oidcAlgorithms. */
  algorithms: z.array(oidcAlgorithm).min(1).optional(),
  /** The oldest token accepted, from its `iat` and, when present, its `auth_time` (seconds). */
  maxTokenAgeSeconds: z.number().int().positive().default(12 * 60 * 60),
  /** Clock skew accepted on exp, nbf, iat (seconds). */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  /** The claim holding the person's employee id (no fallback: a token without it is refused). */
  employeeIdClaim: z.string().min(1).default('employee_id'),
  /** The claim listing the person's groups (an array of names, or one name). */
  rolesClaim: z.string().min(1).default('groups'),
  /** Group name -> the provisioner roles it grants; a group not listed grants nothing. */
  roleMap: z.record(z.string().min(1), z.union([z.enum(apiRoles), z.array(z.enum(apiRoles)).min(1)]).transform((r) => (Array.isArray(r) ? r : [r]))).default({}),
  /** PEM CA bundle the IdP's HTTPS certificate must chain to (a private CA); unset: the system CAs. */
  caFile: z.string().min(1).optional(),
});

const kafkaTls = z.strictObject({
  /** PEM CA bundle the brokers' certificates must chain to; unset: the system CAs (Confluent Cloud, MSK). */
  caFile: z.string().min(1).optional(),
  /** PEM client certificate (mutual TLS, e.g. MSK mTLS); with keyFile. */
  certFile: z.string().min(1).optional(),
  /** PEM private key of certFile. Secret: the file is read, never logged. */
  keyFile: z.string().min(1).optional(),
}).refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), {
  message: 'a client certificate needs both kafka.tls.certFile and kafka.tls.keyFile (KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE): set both or neither',
  path: ['certFile'],
});

const kafkaSasl = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer']),
  /** plain and scram: the user (Confluent Cloud: the API key). */
  username: z.string().min(1).optional(),
  /** Secret: never logged (Confluent Cloud: the API secret). Prefer passwordFile. */
  password: z.string().min(1).optional(),
  /** A file holding the password, re-read at each new connection (rotation without a restart); wins over password. */
  passwordFile: z.string().min(1).optional(),
  /** oauthbearer: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) that gets the token. */
  oauthbearer: z.strictObject({
    /** The token endpoint: https, or http to a loopback address only. */
    tokenUrl: z.string().refine(httpsOrLoopback, 'expected an https:// URL (http:// only to localhost or 127.0.0.1)'),
    clientId: z.string().min(1),
    /** A file holding the client secret, re-read at each token request. */
    clientSecretFile: z.string().min(1),
    /** Space-separated scopes to ask for; unset: the endpoint's default. */
    scope: z.string().min(1).optional(),
  }).optional(),
}).superRefine((sasl, ctx) => {
  if (sasl.mechanism === 'oauthbearer') {
    if (!sasl.oauthbearer) {
      ctx.addIssue({ code: 'custom', path: ['oauthbearer'], message: 'kafka.sasl.mechanism oauthbearer needs kafka.sasl.oauthbearer: { tokenUrl, clientId, clientSecretFile }' });
    }
    if (sasl.username || sasl.password || sasl.passwordFile) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'kafka.sasl.mechanism oauthbearer takes no username or password (its client id and secret file are in kafka.sasl.oauthbearer)' });
    }
    return;
  }
  if (!sasl.username) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: `kafka.sasl.mechanism ${sasl.mechanism} needs kafka.sasl.username (KAFKA_SASL_USERNAME)` });
  }
  if (!sasl.password && !sasl.passwordFile) {
    ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: `kafka.sasl.mechanism ${sasl.mechanism} needs a password: kafka.sasl.passwordFile (KAFKA_SASL_PASSWORD_FILE) or kafka.sasl.password (KAFKA_SASL_PASSWORD)` });
  }
  if (sasl.oauthbearer) {
    ctx.addIssue({ code: 'custom', path: ['oauthbearer'], message: `kafka.sasl.oauthbearer is for mechanism oauthbearer, not ${sasl.mechanism}` });
  }
});

/** How the store's connections use TLS (libpq's sslmode names; prefer and allow, which fall back to plain TCP, are left out). */
export const postgresTlsModes = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type PostgresTlsMode = (typeof postgresTlsModes)[number];

/** TLS parameters of a connection URL: sslmode and sslrootcert are understood; the others (client certificates, ...) are refused. */
function urlTls(url: string): { mode?: PostgresTlsMode; caFile?: string; problems: string[] } {
  const params = new URL(url).searchParams;
  const problems: string[] = [];
  const sslmode = params.get('sslmode') ?? undefined;
  if (sslmode !== undefined && !(postgresTlsModes as readonly string[]).includes(sslmode)) {
    problems.push(`sslmode=${sslmode} in the connection URL is not supported; remove it and set postgres.tls.mode to ${postgresTlsModes.join(', ')}`);
  }
  for (const name of params.keys()) {
    if (/^ssl/.test(name) && name !== 'sslmode' && name !== 'sslrootcert') problems.push(`${name} in the connection URL is not supported; remove it and set postgres.tls`);
  }
  const caFile = params.get('sslrootcert') ?? undefined;
  return { ...(sslmode && problems.length === 0 ? { mode: sslmode as PostgresTlsMode } : {}), ...(caFile ? { caFile } : {}), problems };
}

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
    /**
     * The development OpenID provider (`stack up` starts it as the server `idp`; stack/dev-idp/):
     * issuer http://127.0.0.1:<idpPort>. Not part of the secured stack.
     */
    idpPort: port.default(9470),
    /** The people the development IdP signs in (employee id, password, groups); development only. */
    idpPeopleFile: z.string().min(1).default('examples/dev-idp-people.yaml'),
    /** The development IdP's access token lifetime in seconds (read when `stack up` starts it); development only. */
    idpAccessTokenTtlSeconds: z.coerce.number().int().min(1).max(86_400).default(DEV_IDP_ACCESS_TOKEN_TTL_SECONDS),
    /**
     * A local Prometheus server (`stack up` starts it as the server `prometheus`; stack/prometheus.ts):
     * it scrapes the provisioner processes that run on this machine and loads the alert rules of
     * ops/prometheus. Off by default: its first build from its Go module takes minutes
     * (`stack up --prometheus` or `stack up prometheus` starts it once without this setting).
     */
    prometheus: z.boolean().default(false),
    /** The local Prometheus's port on 127.0.0.1 (its HTTP API and UI). */
    prometheusPort: port.default(9090),
    /** The Prometheus release built with `go install` (github.com/prometheus/prometheus, Go module versions). */
    prometheusVersion: z.string().regex(/^v\d+\.\d+\.\d+$/).default('v0.316.0'),
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
    /**
     * Copies of each partition the topics are created with (`stack up`): 1 on the single local
     * broker; 3 on a cluster (the local `stack up --cluster`, production), so a broker can be lost.
     */
    replicationFactor: z.coerce.number().int().min(1).max(10).default(1),
    /**
     * The topics' `min.insync.replicas`, set on the topics `stack up` creates (unset: the brokers'
     * default): with acks=all (every producer here), a write succeeds only once this many copies
     * have it. 2 with replication factor 3: one broker down, writes go on.
     */
    minInsyncReplicas: z.coerce.number().int().min(1).max(10).optional(),
    clientId: z.string().default('provisioner'),
    /** TLS to the brokers, on when present (`{}`: the system CAs); the broker's certificate is always verified. */
    tls: kafkaTls.optional(),
    /** SASL authentication (Confluent Cloud: plain over TLS; MSK and Strimzi: scram-sha-512; OAuth: oauthbearer). */
    sasl: kafkaSasl.optional(),
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
  }).refine((k) => (k.minInsyncReplicas ?? 1) <= k.replicationFactor, {
    path: ['minInsyncReplicas'],
    message: 'kafka.minInsyncReplicas cannot exceed kafka.replicationFactor: no write could ever succeed with acks=all',
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
    /** A file holding the runtime role's password (the user of url), re-read for each new connection (rotation without a restart); wins over a password in url. */
    passwordFile: z.string().min(1).optional(),
    /**
     * The role that owns the store's schema and runs the migrations, which then grants the runtime
     * role (the user of url) only what it needs. Default: url (one role, as in development).
     */
    ownerUrl: z.string().url().optional(),
    /** A file holding the owner role's password, re-read for each new connection; wins over a password in ownerUrl. */
    ownerPasswordFile: z.string().min(1).optional(),
    tls: z.strictObject({
      /**
       * `verify-full`: encrypted, the server's certificate checked against caFile (or the system's
       * CAs) and its host name. `verify-ca`: checked against caFile, host name not checked.
       * `require`: encrypted, the server NOT verified (anyone on the path can pose as it).
       * `disable`: plain TCP. Default: the URL's sslmode, else disable. An sslmode in the URL that
       * disagrees with this is refused, never silently preferred.
       */
      mode: z.enum(postgresTlsModes).optional(),
      /** PEM file of the CA(s) that sign the server's certificate (managed services publish theirs). */
      caFile: z.string().min(1).optional(),
    }).prefault({}),
  }).prefault({}).transform((postgres, ctx) => {
    const fromUrls = [postgres.url, postgres.ownerUrl].flatMap((url) => (url ? [urlTls(url)] : []));
    for (const [i, found] of fromUrls.entries()) {
      const setting = postgres.url && i === 0 ? 'url' : 'ownerUrl';
      for (const problem of found.problems) ctx.addIssue({ code: 'custom', path: [setting], message: problem });
    }
    const urlModes = [...new Set(fromUrls.flatMap((f) => (f.mode ? [f.mode] : [])))];
    const urlCas = [...new Set(fromUrls.flatMap((f) => (f.caFile ? [f.caFile] : [])))];
    const mode = postgres.tls.mode ?? urlModes[0] ?? 'disable';
    if (urlModes.some((m) => m !== mode)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'mode'],
        message: `the connection URL says sslmode=${urlModes.find((m) => m !== mode)} but the TLS mode is ${mode}; remove sslmode from the URL (postgres.tls.mode decides)`,
      });
    }
    const caFile = postgres.tls.caFile ?? urlCas[0];
    if (urlCas.some((c) => c !== caFile)) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'caFile'], message: 'the connection URL names another sslrootcert than postgres.tls.caFile; remove sslrootcert from the URL' });
    }
    if (mode === 'verify-ca' && !caFile) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'caFile'], message: 'verify-ca needs the CA file that signs the server certificate (any certificate of a public CA would pass); set postgres.tls.caFile or use verify-full' });
    }
    return { ...postgres, tls: { mode, ...(caFile ? { caFile } : {}) } };
  }),
  ldap: z.strictObject({
    external: z.boolean().default(false),
    url: z.string().regex(/^ldaps?:\/\//, 'expected an ldap:// or ldaps:// URL').default('ldap://127.0.0.1:3890'),
    baseDn: z.string().default('dc=provisioner,dc=local'),
    bindDn: z.string().default('cn=admin,dc=provisioner,dc=local'),
    /**
     * Secret: never logged. No default: unset, the local slapd's development password applies in
     * development mode to a loopback URL only (ldapBindPasswordProblem); anywhere else set it, or bindPasswordFile.
     */
    bindPassword: z.string().min(1).optional(),
    /** A file holding the bind password, re-read when it changes (rotation without a restart); wins over bindPassword. */
    bindPasswordFile: z.string().min(1).optional(),
    /**
     * TLS to the directory: an `ldaps://` url, or `startTls: true` on an ldap:// url (upgraded before
     * the bind; a server that cannot is refused). Verified against caFile (PEM, resolved against the
     * project root) or the system CAs. Plain ldap:// is for the local development stack.
     */
    tls: z.strictObject({
      caFile: z.string().min(1).optional(),
      startTls: z.boolean().default(false),
    }).prefault({}),
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
    /** The local slapd's ldaps:// port when the stack runs secured (stack.secure), beside StartTLS on url's port. */
    ldapsPort: port.default(6361),
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
    /** How often a worker looks for a newly applied policy version (`provisioner policy apply`), in seconds. */
    pollSeconds: z.number().positive().max(300).default(3),
    /** A rollout's pace: people asked to plan again per second, like a feed (the fence counts them under `policy/<version>`). */
    rolloutPerSecond: z.number().positive().max(10_000).default(20),
    /** A rollout signals its people in batches of this many (one activity each). */
    rolloutBatchSize: z.number().int().min(1).max(1000).default(100),
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
    /** How often a person held by the fence reads its decision from the store, should the `fenceDecision` signal be lost (seconds). */
    fenceRecheckSeconds: z.number().int().min(1).max(24 * 3600).default(300),
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
    /**
     * The address the health server (/health, /ready, /metrics) listens on: loopback by default; a
     * Prometheus on another host needs 0.0.0.0 or the pod's address (nothing there is secret or personal).
     */
    healthHost: z.string().min(1).default('127.0.0.1'),
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
    /**
     * The organisation's OpenID provider: the API verifies people's tokens from it (the only tokens
     * production mode accepts), and people sign in with `provisioner login` (device authorization
     * grant, RFC 8628); unset in development mode: `login` uses the local stack's development IdP.
     */
    oidc: apiOidc.optional(),
  }).prefault({}),
  itsm: z.strictObject({
    /** The ITSM's name: the `iss` every decision signature must carry. */
    issuer: z.string().min(1).default('provisioner-dev-itsm'),
    /** The `aud` every decision signature must carry: this system, as the ITSM names it. */
    audience: z.string().min(1).default('provisioner'),
    /**
     * The ITSM's public keys that sign approval decisions: a JWKS file (several keys, picked by
     * `kid`: rotation) or a PEM file of public keys, re-read when it changes. Default: the
     * development ITSM key <dataDir>/keys/itsm-dev-decisions.jwks.json, generated in development
     * mode only (production refuses it).
     */
    decisionKeys: z.string().min(1).optional(),
    /** How old (by its `iat`) a signed decision may be when it arrives; older ones are dead-lettered as stale. */
    decisionMaxAgeMinutes: z.coerce.number().int().min(1).max(30 * 24 * 60).default(24 * 60),
  }).prefault({}),
  tracing: z.strictObject({
    /**
     * The OTLP/HTTP endpoint of an OpenTelemetry collector (`http://collector:4318`): spans are
     * POSTed to `<otlpEndpoint>/v1/traces` as OTLP JSON. Unset (the default): tracing is off, no
     * tracer provider is registered and nothing is exported.
     */
    otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** The full traces URL (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT gives it): used as is, and wins over otlpEndpoint. */
    otlpTracesUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** The share of new traces kept (0..1); a trace started upstream (the HR event's `traceparent`) keeps its own sampling decision. */
    sampleRatio: z.coerce.number().min(0).max(1).default(1),
  }).prefault({}),
  audit: z.strictObject({
    /** The signed checkpoint file of the audit chain (put it on another host's mount); default <dataDir>/audit/checkpoints.jsonl. */
    checkpointsFile: z.string().min(1).optional(),
    /**
     * Where the worker's checkpointer writes each signed checkpoint of the chain's head, and where
     * `audit verify` reads them by default: `file` (checkpointsFile) and `kafka` (the audit topic,
     * kafka.topics.audit, as `provisioning.audit.checkpoint` messages beside the records).
     */
    checkpointTo: z.array(z.enum(['file', 'kafka'])).min(1).default(['file', 'kafka']),
    /** How often the checkpointer signs the head when it moved (seconds); when idle, every 10 intervals. */
    checkpointIntervalSeconds: z.number().int().min(1).max(3600).default(30),
    /** How much later than expected a checkpoint may be before `audit verify` calls it missing (seconds). */
    checkpointGraceSeconds: z.number().int().min(0).max(86_400).default(300),
  }).prefault({}),
}).transform(({ audit, ...cfg }) => ({
  ...cfg,
  audit: { ...audit, checkpointsFile: audit.checkpointsFile ?? path.join(cfg.dataDir, 'audit', 'checkpoints.jsonl') },
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
  { env: 'PROVISIONER_IDP_PORT', path: 'stack.idpPort' },
  { env: 'PROVISIONER_IDP_PEOPLE', path: 'stack.idpPeopleFile' },
  { env: 'PROVISIONER_IDP_ACCESS_TOKEN_TTL', path: 'stack.idpAccessTokenTtlSeconds' },
  { env: 'PROVISIONER_PROMETHEUS', path: 'stack.prometheus', parse: boolean },
  { env: 'PROVISIONER_PROMETHEUS_PORT', path: 'stack.prometheusPort' },
  { env: 'KAFKA_BROKERS', path: 'kafka.brokers', parse: commaList, alsoSets: { 'kafka.external': true } },
  { env: 'KAFKA_HOME', path: 'kafka.home' },
  { env: 'KAFKA_VERSION', path: 'kafka.version' },
  { env: 'KAFKA_PARTITIONS', path: 'kafka.partitions' },
  { env: 'KAFKA_REPLICATION_FACTOR', path: 'kafka.replicationFactor' },
  { env: 'KAFKA_MIN_INSYNC_REPLICAS', path: 'kafka.minInsyncReplicas' },
  { env: 'KAFKA_TLS', path: 'kafka.tls', parse: switchOn },
  { env: 'KAFKA_TLS_CA_FILE', path: 'kafka.tls.caFile' },
  { env: 'KAFKA_TLS_CERT_FILE', path: 'kafka.tls.certFile' },
  { env: 'KAFKA_TLS_KEY_FILE', path: 'kafka.tls.keyFile' },
  { env: 'KAFKA_SASL_MECHANISM', path: 'kafka.sasl.mechanism' },
  { env: 'KAFKA_SASL_USERNAME', path: 'kafka.sasl.username' },
  { env: 'KAFKA_SASL_PASSWORD', path: 'kafka.sasl.password' },
  { env: 'KAFKA_SASL_PASSWORD_FILE', path: 'kafka.sasl.passwordFile' },
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
  { env: 'DATABASE_PASSWORD_FILE', path: 'postgres.passwordFile' },
  { env: 'DATABASE_OWNER_URL', path: 'postgres.ownerUrl' },
  { env: 'DATABASE_OWNER_PASSWORD_FILE', path: 'postgres.ownerPasswordFile' },
  { env: 'POSTGRES_SSLMODE', path: 'postgres.tls.mode' },
  { env: 'POSTGRES_CA_FILE', path: 'postgres.tls.caFile' },
  { env: 'LDAP_URL', path: 'ldap.url', alsoSets: { 'ldap.external': true } },
  { env: 'LDAP_BIND_DN', path: 'ldap.bindDn' },
  { env: 'LDAP_BIND_PASSWORD', path: 'ldap.bindPassword' },
  { env: 'LDAP_BIND_PASSWORD_FILE', path: 'ldap.bindPasswordFile' },
  { env: 'LDAP_TLS_CA_FILE', path: 'ldap.tls.caFile' },
  { env: 'LDAP_STARTTLS', path: 'ldap.tls.startTls', parse: boolean },
  { env: 'LDAP_MANAGE_OUS', path: 'ldap.manageOus', parse: (v) => (v.trim() === 'none' ? [] : commaList(v)) },
  { env: 'PROVISIONER_APPS', path: 'apps.file' },
  { env: 'PROVISIONER_CONNECTORS', path: 'connectors.file' },
  { env: 'PROVISIONER_POLICY', path: 'policy.dir' },
  { env: 'PROVISIONER_POLICY_POLL_SECONDS', path: 'policy.pollSeconds', parse: Number },
  { env: 'PROVISIONER_POLICY_ROLLOUT_PER_SECOND', path: 'policy.rolloutPerSecond', parse: Number },
  { env: 'PROVISIONER_POLICY_ROLLOUT_BATCH', path: 'policy.rolloutBatchSize', parse: Number },
  { env: 'PROVISIONER_PLAN_ONLY', path: 'safety.planOnly', parse: commaList },
  { env: 'PROVISIONER_FENCE_POPULATION', path: 'safety.populationEstimate', parse: Number },
  { env: 'PROVISIONER_FENCE_RECHECK_SECONDS', path: 'safety.fenceRecheckSeconds', parse: Number },
  { env: 'PROVISIONER_API_PORT', path: 'http.apiPort' },
  { env: 'PROVISIONER_HEALTH_HOST', path: 'http.healthHost' },
  { env: 'PROVISIONER_API_URL', path: 'api.url' },
  { env: 'PROVISIONER_API_CORS_ORIGINS', path: 'api.corsOrigins', parse: (v) => commaList(v).map((o) => o.replace(/\/+$/, '')) },
  { env: 'PROVISIONER_API_JWT_ISSUER', path: 'api.jwt.issuer' },
  { env: 'PROVISIONER_API_JWT_AUDIENCE', path: 'api.jwt.audience' },
  { env: 'PROVISIONER_API_JWT_SECRET', path: 'api.jwt.secret' },
  { env: 'PROVISIONER_API_JWT_SECRET_FILE', path: 'api.jwt.secretFile' },
  { env: 'PROVISIONER_API_TOKEN', path: 'api.token' },
  { env: 'PROVISIONER_OIDC_ISSUER', path: 'api.oidc.issuer' },
  { env: 'PROVISIONER_OIDC_AUDIENCE', path: 'api.oidc.audience' },
  { env: 'PROVISIONER_OIDC_CLI_CLIENT_ID', path: 'api.oidc.cliClientId' },
  { env: 'PROVISIONER_OIDC_JWKS_URI', path: 'api.oidc.jwksUri' },
  { env: 'PROVISIONER_OIDC_ALGORITHMS', path: 'api.oidc.algorithms', parse: commaList },
  { env: 'PROVISIONER_OIDC_MAX_TOKEN_AGE', path: 'api.oidc.maxTokenAgeSeconds', parse: Number },
  { env: 'PROVISIONER_OIDC_CLOCK_TOLERANCE', path: 'api.oidc.clockToleranceSeconds', parse: Number },
  { env: 'PROVISIONER_OIDC_EMPLOYEE_ID_CLAIM', path: 'api.oidc.employeeIdClaim' },
  { env: 'PROVISIONER_OIDC_ROLES_CLAIM', path: 'api.oidc.rolesClaim' },
  { env: 'PROVISIONER_OIDC_ROLE_MAP', path: 'api.oidc.roleMap', parse: jsonOrText },
  { env: 'PROVISIONER_OIDC_CA_FILE', path: 'api.oidc.caFile' },
  { env: 'PROVISIONER_AUDIT_CHECKPOINTS', path: 'audit.checkpointsFile' },
  { env: 'PROVISIONER_AUDIT_CHECKPOINT_TO', path: 'audit.checkpointTo', parse: commaList },
  { env: 'PROVISIONER_AUDIT_CHECKPOINT_INTERVAL', path: 'audit.checkpointIntervalSeconds', parse: Number },
  { env: 'PROVISIONER_AUDIT_CHECKPOINT_GRACE', path: 'audit.checkpointGraceSeconds', parse: Number },
  { env: 'PROVISIONER_ITSM_ISSUER', path: 'itsm.issuer' },
  { env: 'PROVISIONER_ITSM_AUDIENCE', path: 'itsm.audience' },
  { env: 'PROVISIONER_ITSM_DECISION_KEYS', path: 'itsm.decisionKeys' },
  { env: 'PROVISIONER_ITSM_DECISION_MAX_AGE_MINUTES', path: 'itsm.decisionMaxAgeMinutes' },
  // OpenTelemetry's standard variables first, so that PROVISIONER_OTLP_ENDPOINT (later) wins over both.
  { env: 'OTEL_EXPORTER_OTLP_ENDPOINT', path: 'tracing.otlpEndpoint' },
  { env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', path: 'tracing.otlpTracesUrl' },
  { env: 'PROVISIONER_OTLP_ENDPOINT', path: 'tracing.otlpEndpoint', alsoSets: { 'tracing.otlpTracesUrl': undefined } },
  { env: 'PROVISIONER_TRACE_SAMPLE_RATIO', path: 'tracing.sampleRatio', parse: Number },
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
  // A section switched on (`KAFKA_TLS=true` is `{}`) keeps what the file already set in it.
  const isSection = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  at[last] = isSection(value) && isSection(at[last]) ? { ...at[last], ...(value as object) } : value;
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
  resolveKafkaFiles(cfg, root);
  if (cfg.ldap.bindPasswordFile) cfg.ldap.bindPasswordFile = path.resolve(root, cfg.ldap.bindPasswordFile);
  cfg.stack.idpPeopleFile = path.resolve(root, cfg.stack.idpPeopleFile);
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = cfg.temporal.tls?.[key];
    if (file) cfg.temporal.tls![key] = path.resolve(root, file);
  }
  if (cfg.temporal.apiKeyFile) cfg.temporal.apiKeyFile = path.resolve(root, cfg.temporal.apiKeyFile);
  if (cfg.postgres.passwordFile) cfg.postgres.passwordFile = path.resolve(root, cfg.postgres.passwordFile);
  if (cfg.postgres.ownerPasswordFile) cfg.postgres.ownerPasswordFile = path.resolve(root, cfg.postgres.ownerPasswordFile);
  if (cfg.postgres.tls.caFile) cfg.postgres.tls.caFile = path.resolve(root, cfg.postgres.tls.caFile);
  if (cfg.ldap.tls.caFile) cfg.ldap.tls.caFile = path.resolve(root, cfg.ldap.tls.caFile);
  if (!cfg.ldap.bindPassword && !cfg.ldap.bindPasswordFile && usesLdapDevPassword(cfg)) cfg.ldap.bindPassword = LDAP_DEV_BIND_PASSWORD;
  // In production mode the start-up checks report it with every other problem (runtime/production-checks.ts).
  const ldapProblem = cfg.mode === 'development' ? ldapBindPasswordProblem(cfg) ?? ldapTlsSettingsProblem(cfg) : ldapTlsSettingsProblem(cfg);
  if (ldapProblem) throw new ConfigError(ldapProblem);
  cfg.policy.dir = path.resolve(root, cfg.policy.dir);
  cfg.audit.checkpointsFile = path.resolve(root, cfg.audit.checkpointsFile);
  if (cfg.api.jwt.secretFile) cfg.api.jwt.secretFile = path.resolve(root, cfg.api.jwt.secretFile);
  if (cfg.itsm.decisionKeys) cfg.itsm.decisionKeys = path.resolve(root, cfg.itsm.decisionKeys);
  if (cfg.api.oidc?.caFile) cfg.api.oidc.caFile = path.resolve(root, cfg.api.oidc.caFile);
  return cfg;
}

/** The local development stack's slapd: development mode and a loopback URL. Only there may the development bind password stand in. */
function usesLdapDevPassword(cfg: Pick<Config, 'mode' | 'ldap'>): boolean {
  return cfg.mode === 'development' && isLoopbackHost(new URL(cfg.ldap.url).hostname);
}

/** A directory without a bind password (none given, and the development default does not apply), else undefined. */
export function ldapBindPasswordProblem(cfg: Pick<Config, 'mode' | 'ldap'>): string | undefined {
  if (cfg.ldap.bindPassword || cfg.ldap.bindPasswordFile) return undefined;
  const why = cfg.mode === 'production' ? 'in production mode' : `for ${cfg.ldap.url}, which is not the local development slapd`;
  return `ldap: no bind password ${why}; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding it, or LDAP_BIND_PASSWORD`;
}

/** The directory's bind password now: the file's contents (read on each call: rotation), else the setting. */
export function ldapBindPassword(cfg: Pick<Config, 'mode' | 'ldap'>): string {
  const file = cfg.ldap.bindPasswordFile;
  if (file) {
    let value: string;
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`ldap: cannot read the bind password file ${file} (LDAP_BIND_PASSWORD_FILE, ldap.bindPasswordFile): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}; make it readable or name another`);
    }
    if (!value) throw new ConfigError(`ldap: the bind password file ${file} (LDAP_BIND_PASSWORD_FILE, ldap.bindPasswordFile) is empty; write the password into it`);
    return value;
  }
  if (cfg.ldap.bindPassword) return cfg.ldap.bindPassword;
  throw new ConfigError(ldapBindPasswordProblem(cfg) ?? 'ldap: no bind password');
}

function ldapTlsSettingsProblem(cfg: Pick<Config, 'ldap'>): string | undefined {
  const ldaps = /^ldaps:\/\//i.test(cfg.ldap.url);
  const { tls } = cfg.ldap;
  if (tls.startTls && ldaps) return `ldap: LDAP_STARTTLS (ldap.tls.startTls) applies to ldap:// URLs, and ${cfg.ldap.url} is TLS already; unset it`;
  if (tls.caFile && !ldaps && !tls.startTls) return `ldap: LDAP_TLS_CA_FILE (ldap.tls.caFile) is set but ${cfg.ldap.url} is plain; set LDAP_STARTTLS=true (ldap.tls.startTls) or use an ldaps:// URL`;
  return undefined;
}

/** Kafka's TLS and SASL file references, against the project root. */
function resolveKafkaFiles(cfg: Config, root: string): void {
  const { tls, sasl } = cfg.kafka;
  const resolve = (file: string | undefined) => (file ? path.resolve(root, file) : undefined);
  if (tls) cfg.kafka.tls = { caFile: resolve(tls.caFile), certFile: resolve(tls.certFile), keyFile: resolve(tls.keyFile) };
  if (sasl?.passwordFile) sasl.passwordFile = path.resolve(root, sasl.passwordFile);
  if (sasl?.oauthbearer) sasl.oauthbearer.clientSecretFile = path.resolve(root, sasl.oauthbearer.clientSecretFile);
}

/** The LDAP connector's organisational units, as full DNs under ldap.baseDn. */
export function ldapOus(cfg: Pick<Config, 'ldap'>): { people: string; groups: string; disabled: string } {
  const { ous, baseDn } = cfg.ldap;
  return { people: `${ous.people},${baseDn}`, groups: `${ous.groups},${baseDn}`, disabled: `${ous.disabled},${baseDn}` };
}

/** The secured local stack's configuration file (`stack up --secure`). */
export const SECURE_STACK_CONFIG = 'examples/secure-stack.yaml';

/** The local three-broker Kafka cluster's configuration file (`stack up --cluster`). */
export const CLUSTER_STACK_CONFIG = 'examples/cluster-stack.yaml';

/** Where the secured local stack keeps its development CA and certificates. */
export function stackPkiDir(cfg: Pick<Config, 'dataDir'>): string {
  return path.join(cfg.dataDir, 'pki');
}

/** A development secret of the secured local stack: <dataDir>/secrets/<name>. */
export function stackSecretFile(cfg: Pick<Config, 'dataDir'>, name: string): string {
  return path.join(cfg.dataDir, 'secrets', name);
}

/** Where `api token --dev` (and `provisioner dev`) keep a generated development API JWT secret. */
export function apiDevJwtSecretFile(dataDir: string): string {
  return path.join(dataDir, 'api-jwt-secret');
}

/** The PostgreSQL connection string: DATABASE_URL, or the local server that `stack up` runs. */
export function databaseUrl(cfg: Config): string {
  return cfg.postgres.url ?? `postgres://postgres@127.0.0.1:${cfg.postgres.port}/${cfg.postgres.database}`;
}

/** One role's connection to the store's database, as the pool factory (store/db.ts) takes it. */
export type PostgresConnection = {
  url: string;
  /** Read for each new connection; wins over a password in url. */
  passwordFile?: string;
  tls: { mode: PostgresTlsMode; caFile?: string };
  /** The settings that make this connection, named in its failure messages (what to check). */
  settings: { url: string; password: string };
};

/** The runtime role's connection: postgres.url (or the local server), passwordFile, tls. */
export function runtimeConnection(cfg: Config): PostgresConnection {
  return {
    url: databaseUrl(cfg),
    ...(cfg.postgres.passwordFile ? { passwordFile: cfg.postgres.passwordFile } : {}),
    tls: cfg.postgres.tls,
    settings: { url: 'postgres.url (DATABASE_URL)', password: 'postgres.passwordFile (DATABASE_PASSWORD_FILE)' },
  };
}

/** The owner role's connection (migrations, grants), or undefined when the runtime role owns the schema too. */
export function ownerConnection(cfg: Config): PostgresConnection | undefined {
  if (!cfg.postgres.ownerUrl) return undefined;
  return {
    url: cfg.postgres.ownerUrl,
    ...(cfg.postgres.ownerPasswordFile ? { passwordFile: cfg.postgres.ownerPasswordFile } : {}),
    tls: cfg.postgres.tls,
    settings: { url: 'postgres.ownerUrl (DATABASE_OWNER_URL)', password: 'postgres.ownerPasswordFile (DATABASE_OWNER_PASSWORD_FILE)' },
  };
}
