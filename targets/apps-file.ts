// The demo SCIM apps' own settings (config/apps.yaml): where each listens, which credentials it
// accepts, where it keeps its state and which faults it starts with. Read by `provisioner apps` and
// by the target server process; development only. How the worker reaches an application (its URL
// and a reference to its credentials) is the connector config (connectors/config.ts,
// config/connectors.yaml), not this file.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../schemas/config.js';
import { behaviourOf, behaviourSchema, profileNameSchema, type Behaviour } from './profiles.js';

/** Faults a target app injects into its SCIM API (never into /health, /admin or /oauth/token). */
export const faultsSchema = z.strictObject({
  /** Added to every SCIM request before it is handled. */
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  /** Random extra latency, uniform in [0, jitterMs), on top of latencyMs. */
  jitterMs: z.number().int().min(0).max(120_000).optional(),
  /** A token bucket: at most `requestsPerSecond` sustained (bursts up to `burst`); excess gets 429 + Retry-After. */
  rateLimit: z
    .strictObject({
      requestsPerSecond: z.number().positive().max(1_000_000),
      burst: z.number().int().positive().optional(),
      /** Overrides the computed Retry-After (whole seconds, RFC 9110 §10.2.3). */
      retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    })
    .optional(),
  /** Fraction of SCIM requests (0..1) answered with `errorStatus` before they are handled. */
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
  /** The next N SCIM requests are answered 503 (with Retry-After when `retryAfterSeconds` is set). */
  failNext: z.number().int().min(0).optional(),
  /** Retry-After (seconds) sent with injected 5xx answers; none when unset. */
  retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
  /** The next N successful writes are committed, then the connection is destroyed without an answer. */
  dropAfterCommitNext: z.number().int().min(0).optional(),
  /** Fraction of successful writes (0..1) committed, then dropped without an answer, for as long as it is set. */
  dropAfterCommitRate: z.number().min(0).max(1).optional(),
  /**
   * A permanent refusal: a PATCH adding one of these users (by externalId) to the group named
   * `group` is answered `status` (400 invalidValue by default, or 409) and nothing is applied.
   */
  refuseMembers: z.strictObject({ group: z.string().min(1), externalIds: z.array(z.string().min(1)).max(100_000), status: z.union([z.literal(400), z.literal(409)]).optional() }).optional(),
  /** Added to every DELETE, on top of latencyMs: slow deletes (e.g. the undo of a create). */
  deleteLatencyMs: z.number().int().min(0).max(120_000).optional(),
  /**
   * A write (POST, PUT, PATCH, DELETE) is applied at once and answered this long after: a caller
   * that dies meanwhile loses the answer of a write that was made.
   */
  writeAnswerDelayMs: z.number().int().min(0).max(120_000).optional(),
  /** A DELETE of a user is answered 204 and nothing is deleted: a write the app loses. */
  loseUserDeletes: z.boolean().optional(),
});

export type Faults = z.infer<typeof faultsSchema>;

const secret = z.string().min(8, 'a token or secret must have at least 8 characters');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable');

const appSchema = z
  .strictObject({
    /** Lower-case name, used in pid files, logs and URLs: chat, code, crm. */
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a lower-case name: letters, digits and dashes'),
    port: z.number().int().min(1).max(65_535),
    host: z.string().min(1).default('127.0.0.1'),
    /** A static bearer token clients may use, or the environment variable that holds it. */
    bearerToken: secret.optional(),
    bearerTokenEnv: envName.optional(),
    /** OAuth 2.0 client credentials (RFC 6749 §4.4) accepted at POST /oauth/token. */
    oauth: z
      .strictObject({
        clientId: z.string().min(1),
        clientSecret: secret.optional(),
        clientSecretEnv: envName.optional(),
        tokenTtlSeconds: z.number().int().min(1).max(86_400).default(3600),
      })
      .refine((o) => (o.clientSecret === undefined) !== (o.clientSecretEnv === undefined), {
        message: 'give exactly one of clientSecret or clientSecretEnv',
      })
      .optional(),
    /**
     * The token of the /admin API (faults, write log, reset), or the variable that holds it. Without
     * either the app has no /admin API, as a real SaaS app.
     */
    adminToken: secret.optional(),
    adminTokenEnv: envName.optional(),
    /** Serve HTTPS with this certificate (chain) and key, PEM files relative to the project root. */
    tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
    /** JSON file the app keeps its users and groups in (relative to the project root); in memory when absent. */
    stateFile: z.string().min(1).optional(),
    faults: faultsSchema.optional(),
    /** How the app behaves where SCIM servers differ (targets/profiles.ts); `standard` when absent. */
    profile: profileNameSchema.optional(),
    /** Single behaviours overriding the profile's. */
    behaviour: behaviourSchema.partial().optional(),
  })
  .refine((a) => !(a.bearerToken !== undefined && a.bearerTokenEnv !== undefined), {
    message: 'give bearerToken or bearerTokenEnv, not both',
  })
  .refine((a) => a.bearerToken !== undefined || a.bearerTokenEnv !== undefined || a.oauth !== undefined, {
    message: 'give bearerToken, bearerTokenEnv or oauth: clients need a way to authenticate',
  })
  .refine((a) => !(a.adminToken !== undefined && a.adminTokenEnv !== undefined), {
    message: 'give adminToken or adminTokenEnv, not both (or neither: the app then has no /admin API)',
  });

export const appsFileSchema = z
  .strictObject({ apps: z.array(appSchema).min(1) })
  .refine((f) => new Set(f.apps.map((a) => a.name)).size === f.apps.length, { message: 'app names must be unique' })
  .refine((f) => new Set(f.apps.map((a) => `${a.host}:${a.port}`)).size === f.apps.length, {
    message: 'two apps cannot listen on the same host and port',
  });

export type AppSpec = z.infer<typeof appSchema>;

/** An app with its secrets read from the environment and its paths made absolute. */
export type ResolvedApp = {
  name: string;
  host: string;
  port: number;
  /** http(s)://host:port: /health, /oauth/token and /admin live here. */
  url: string;
  /** The SCIM base URL (RFC 7644 §3.1): `${url}${behaviour.basePath}`; resources at `${scimUrl}/Users`. */
  scimUrl: string;
  bearerTokens: string[];
  oauth?: { clientId: string; clientSecret: string; tokenTtlSeconds: number; tokenUrl: string };
  /** Absent: the app has no /admin API. */
  adminToken?: string;
  /** Absolute paths of the PEM certificate and key: the app serves HTTPS. */
  tls?: { certFile: string; keyFile: string };
  stateFile?: string;
  faults?: Faults;
  behaviour: Behaviour;
};

export const SCIM_BASE_PATH = '/scim/v2';

export class AppsConfigError extends ConfigError {
  override readonly name = 'AppsConfigError';
}

export function appUrls(host: string, port: number, basePath: string = SCIM_BASE_PATH, scheme: 'http' | 'https' = 'http'): { url: string; scimUrl: string } {
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url, scimUrl: `${url}${basePath}` };
}

function fromEnv(env: NodeJS.ProcessEnv, name: string, what: string, app: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new AppsConfigError(`app ${app}: ${what} is read from the environment variable ${name}, which is not set`);
  }
  return value.trim();
}

/** Resolves one validated app: secrets from the environment, state file relative to `root`. */
export function resolveApp(spec: AppSpec, options: { env?: NodeJS.ProcessEnv; root: string }): ResolvedApp {
  const env = options.env ?? process.env;
  const bearer = spec.bearerToken ?? (spec.bearerTokenEnv ? fromEnv(env, spec.bearerTokenEnv, 'the bearer token', spec.name) : undefined);
  const behaviour = behaviourOf(spec.profile, spec.behaviour);
  const { url, scimUrl } = appUrls(spec.host, spec.port, behaviour.basePath, spec.tls ? 'https' : 'http');
  const adminToken = spec.adminToken ?? (spec.adminTokenEnv ? fromEnv(env, spec.adminTokenEnv, 'the admin token', spec.name) : undefined);
  return {
    name: spec.name,
    host: spec.host,
    port: spec.port,
    url,
    scimUrl,
    bearerTokens: bearer ? [bearer] : [],
    ...(spec.oauth
      ? {
          oauth: {
            clientId: spec.oauth.clientId,
            clientSecret: spec.oauth.clientSecret ?? fromEnv(env, spec.oauth.clientSecretEnv!, 'the OAuth client secret', spec.name),
            tokenTtlSeconds: spec.oauth.tokenTtlSeconds,
            tokenUrl: `${url}/oauth/token`,
          },
        }
      : {}),
    ...(adminToken ? { adminToken } : {}),
    ...(spec.tls ? { tls: { certFile: path.resolve(options.root, spec.tls.certFile), keyFile: path.resolve(options.root, spec.tls.keyFile) } } : {}),
    ...(spec.stateFile ? { stateFile: path.resolve(options.root, spec.stateFile) } : {}),
    ...(spec.faults ? { faults: spec.faults } : {}),
    behaviour,
  };
}

/** Reads and validates an apps file; throws AppsConfigError with a message that says what to fix. */
export function loadAppsFile(file: string, options: { env?: NodeJS.ProcessEnv; root: string }): ResolvedApp[] {
  if (!existsSync(file)) throw new AppsConfigError(`apps file ${file} does not exist (set PROVISIONER_APPS or apps.file to an existing file)`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppsConfigError(`apps file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = appsFileSchema.safeParse(raw);
  if (!parsed.success) throw new AppsConfigError(`invalid apps file ${file}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data.apps.map((spec) => resolveApp(spec, options));
}
