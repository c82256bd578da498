// What one target app process runs, from its command line and environment. Secrets are best given
// through the environment (SCIM_APP_BEARER_TOKEN, SCIM_APP_ADMIN_TOKEN, SCIM_APP_OAUTH_CLIENT_SECRET):
// command lines are visible to every user of the machine.
//
//   node dist/targets/main.js --name chat --port 8101 [--host 127.0.0.1] [--state-file f.json]
//        [--bearer-token T]... [--oauth-client-id ID --oauth-client-secret S] [--admin-token A]
//        [--tls-cert-file cert.pem --tls-key-file key.pem]
//        [--faults '{"latencyMs":50}'] [--max-results 1000] [--persist-delay-ms 20] [--log-level info]
//        [--profile no-groups] [--behaviour '{"etags":false}']
//   node dist/targets/main.js --apps-file config/apps.yaml --app chat     (the rest from the file)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppsConfigError, faultsSchema, loadAppsFile } from './apps-file.js';
import { behaviourOf, behaviourSchema, profileNameSchema } from './profiles.js';
import type { ScimAppOptions } from './server.js';

export type ProcessOptions = Omit<ScimAppOptions, 'logger' | 'now'> & { logLevel: string };

const secret = z.string().min(8, 'at least 8 characters');

const processSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a lower-case name: letters, digits and dashes'),
    port: z.coerce.number().int().min(0).max(65_535),
    host: z.string().min(1).default('127.0.0.1'),
    bearerTokens: z.array(secret).default([]),
    oauth: z.strictObject({ clientId: z.string().min(1), clientSecret: secret, tokenTtlSeconds: z.coerce.number().int().min(1).max(86_400).default(3600) }).optional(),
    adminToken: secret.optional(),
    tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
    stateFile: z.string().min(1).optional(),
    faults: faultsSchema.optional(),
    maxResults: z.coerce.number().int().min(1).max(100_000).optional(),
    persistDelayMs: z.coerce.number().int().min(0).max(3_600_000).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    profile: profileNameSchema.optional(),
    behaviour: behaviourSchema.partial().optional(),
  })
  .refine((o) => o.bearerTokens.length > 0 || o.oauth !== undefined, { message: 'give a bearer token or OAuth client credentials' });

function parseJson(json: string | undefined, what: string): unknown {
  if (json === undefined || json.trim() === '') return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new AppsConfigError(`${what} is not valid JSON: ${json}`);
  }
}

/** Throws AppsConfigError naming what is missing or wrong. */
export function parseProcessOptions(argv: string[], env: NodeJS.ProcessEnv, root: string): ProcessOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      name: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'bearer-token': { type: 'string', multiple: true },
      'oauth-client-id': { type: 'string' },
      'oauth-client-secret': { type: 'string' },
      'oauth-token-ttl': { type: 'string' },
      'admin-token': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
      'state-file': { type: 'string' },
      faults: { type: 'string' },
      'max-results': { type: 'string' },
      'persist-delay-ms': { type: 'string' },
      'log-level': { type: 'string' },
      profile: { type: 'string' },
      behaviour: { type: 'string' },
      'apps-file': { type: 'string' },
      app: { type: 'string' },
    },
  });
  if ((values['apps-file'] === undefined) !== (values.app === undefined)) throw new AppsConfigError('--apps-file and --app go together');
  const fromFile = values['apps-file']
    ? loadAppsFile(path.resolve(root, values['apps-file']), { env, root }).find((a) => a.name === values.app)
    : undefined;
  if (values['apps-file'] && !fromFile) throw new AppsConfigError(`no app named ${values.app} in ${values['apps-file']}`);

  const clientId = values['oauth-client-id'] ?? env.SCIM_APP_OAUTH_CLIENT_ID ?? fromFile?.oauth?.clientId;
  const clientSecret = values['oauth-client-secret'] ?? env.SCIM_APP_OAUTH_CLIENT_SECRET ?? fromFile?.oauth?.clientSecret;
  const ttl = values['oauth-token-ttl'] ?? env.SCIM_APP_OAUTH_TOKEN_TTL ?? fromFile?.oauth?.tokenTtlSeconds;
  const stateFile = values['state-file'] ?? env.SCIM_APP_STATE_FILE ?? fromFile?.stateFile;
  const bearer = values['bearer-token'] ?? (env.SCIM_APP_BEARER_TOKEN ? [env.SCIM_APP_BEARER_TOKEN] : undefined) ?? fromFile?.bearerTokens;
  const certFile = values['tls-cert-file'] ?? env.SCIM_APP_TLS_CERT_FILE ?? fromFile?.tls?.certFile;
  const keyFile = values['tls-key-file'] ?? env.SCIM_APP_TLS_KEY_FILE ?? fromFile?.tls?.keyFile;
  const faults = parseJson(values.faults ?? env.SCIM_APP_FAULTS, '--faults / SCIM_APP_FAULTS') ?? fromFile?.faults;
  const raw = {
    name: values.name ?? env.SCIM_APP_NAME ?? fromFile?.name,
    port: values.port ?? env.SCIM_APP_PORT ?? fromFile?.port,
    host: values.host ?? env.SCIM_APP_HOST ?? fromFile?.host,
    bearerTokens: bearer,
    oauth: clientId !== undefined || clientSecret !== undefined ? { clientId, clientSecret, ...(ttl !== undefined ? { tokenTtlSeconds: ttl } : {}) } : undefined,
    adminToken: values['admin-token'] ?? env.SCIM_APP_ADMIN_TOKEN ?? fromFile?.adminToken,
    tls: certFile !== undefined || keyFile !== undefined
      ? { certFile: certFile === undefined ? undefined : path.resolve(root, certFile), keyFile: keyFile === undefined ? undefined : path.resolve(root, keyFile) }
      : undefined,
    stateFile: stateFile === undefined ? undefined : path.resolve(root, stateFile),
    faults,
    maxResults: values['max-results'] ?? env.SCIM_APP_MAX_RESULTS,
    persistDelayMs: values['persist-delay-ms'] ?? env.SCIM_APP_PERSIST_DELAY_MS,
    logLevel: values['log-level'] ?? env.LOG_LEVEL,
    profile: values.profile ?? env.SCIM_APP_PROFILE,
    behaviour: parseJson(values.behaviour ?? env.SCIM_APP_BEHAVIOUR, '--behaviour / SCIM_APP_BEHAVIOUR'),
  };
  const parsed = processSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!parsed.success) throw new AppsConfigError(`invalid SCIM app options (arguments and SCIM_APP_* variables):\n${z.prettifyError(parsed.error)}`);
  const { profile, behaviour, ...options } = parsed.data;
  // The file's app settles its behaviour; the command line and environment override single ones.
  const base = profile === undefined && fromFile ? fromFile.behaviour : behaviourOf(profile);
  return { ...options, behaviour: { ...base, ...behaviour } };
}
