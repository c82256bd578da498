// Connector configuration: which connector an application uses, where its server is, and where its
// credentials come from. Secrets are named (an environment variable or a file), never written here,
// and never taken from policy or events; they are read on use, so rotation needs no restart. The one
// way connectors are built, in production as in tests: createConnector over a validated config.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, isLoopbackHost } from '../schemas/config.js';
import type { Connector } from './contract.js';
import { fileReader, secretReader, secretRefSchema } from './credentials.js';
import { ldapTlsProblem } from './ldap/connect.js';
import { LdapConnector } from './ldap/ldap-connector.js';
import { ScimConnector } from './scim/scim-connector.js';

export { isLoopbackHost };

/**
 * An application URL: any `https://host[:port]/path`, or `http://` to a loopback host only, where
 * no network sees the bearer token or client secret, unless the app is marked `insecureHttp`. No
 * credentials, query or fragment in it.
 */
export function appUrlProblem(raw: string, options: { insecureHttp?: boolean | undefined } = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'expected an absolute URL such as https://scim.example.com/scim/v2';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `expected an https:// URL, not ${url.protocol}//`;
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !options.insecureHttp) {
    return `http:// is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost), not ${url.hostname}: over a network the credentials would travel unencrypted; use https:// (or mark the app insecureHttp: true if it cannot be reached otherwise)`;
  }
  if (url.username || url.password) return 'must not carry credentials; give them in auth';
  if (url.search || url.hash) return 'must not carry a query or a fragment';
  return undefined;
}

/** The URL's own shape; whether http:// may leave the machine is the connector's insecureHttp, checked on the whole config. */
const appUrl = z.string().superRefine((raw, ctx) => {
  const problem = appUrlProblem(raw, { insecureHttp: true });
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Whether an app's URLs send its credentials over a network in clear: http:// to a host off this machine. */
export function isInsecureAppUrl(raw: string): boolean {
  const url = new URL(raw);
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
}

const appName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a lower-case name: letters, digits and dashes');
const dn = z.string().min(3).regex(/=/, 'expected a DN such as ou=people,dc=example,dc=com');

export const scimConnectorConfigSchema = z.strictObject({
  type: z.literal('scim'),
  app: appName,
  /** The SCIM base URL (RFC 7644 §3.1): `https://host[:port]/path`, or loopback `http`. */
  baseUrl: appUrl,
  auth: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('bearer'), token: secretRefSchema }),
    z.strictObject({
      kind: z.literal('oauth2'),
      tokenUrl: appUrl,
      clientId: z.string().min(1),
      clientSecret: secretRefSchema,
      scope: z.string().min(1).optional(),
      clientAuthentication: z.enum(['basic', 'body']).optional(),
    }),
  ]),
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  pageSize: z.number().int().min(1).max(10_000).optional(),
  /** The app's activity rate limit across all workers (runtime/app-activity-workers.ts). */
  maxActivitiesPerSecond: z.number().positive().optional(),
  /**
   * The PEM CA bundle the app's certificate (and its token endpoint's) is verified against, for an
   * app whose certificate a private CA issued; re-read when the file changes.
   */
  tls: z.strictObject({ caFile: z.string().min(1, 'expected the path of a PEM CA bundle') }).optional(),
  /**
   * Allows an http:// baseUrl (and tokenUrl) to a host off this machine: the token then travels in
   * clear. For an app that cannot be reached otherwise; the worker warns at start, and production
   * mode refuses it.
   */
  insecureHttp: z.boolean().optional(),
  /** The largest answer read from the app, SCIM or OAuth token, enforced while it streams in. Default 8 MiB. */
  maxResponseBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).optional(),
  /**
   * The longest Retry-After of this app that is honoured; a longer one is cut to this. Unset: every
   * Retry-After is honoured, however long. For an app whose maintenance answers ask for hours: its
   * calls then come back sooner than it asked, which it may count against the client.
   */
  maxRetryAfterSeconds: z.number().int().min(1).max(86_400).optional(),
}).superRefine((config, ctx) => {
  if (config.insecureHttp) return;
  const urls: Array<[string[], string]> = [[['baseUrl'], config.baseUrl], ...(config.auth.kind === 'oauth2' ? [[['auth', 'tokenUrl'], config.auth.tokenUrl] as [string[], string]] : [])];
  for (const [at, raw] of urls) {
    const problem = appUrlProblem(raw);
    if (problem) ctx.addIssue({ code: 'custom', path: at, message: problem });
  }
});

export const ldapConnectorConfigSchema = z.strictObject({
  type: z.literal('ldap'),
  app: appName,
  url: z.string().regex(/^ldaps?:\/\//, 'expected an ldap:// or ldaps:// URL'),
  /**
   * TLS to the directory: `ldaps://` URLs, or `startTls: true` on an ldap:// URL (upgraded before
   * the bind, failing closed), verified against caFile (a PEM bundle, re-read for each new
   * connection) or the system CAs.
   */
  tls: z.strictObject({
    caFile: z.string().min(1, 'expected the path of a PEM CA bundle').optional(),
    startTls: z.boolean().optional(),
  }).optional(),
  bindDn: dn,
  bindPassword: secretRefSchema,
  baseDn: dn,
  peopleDn: dn,
  groupsDn: dn,
  disable: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('move'), disabledDn: dn }),
    z.strictObject({ mode: z.literal('attribute'), attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/), value: z.string().min(1) }),
  ]),
  placeholderMemberDn: dn.optional(),
  /** The OUs (people, groups, disabled) `entitlements sync` may create when missing; none unless listed. */
  manageOus: z.array(z.enum(['people', 'groups', 'disabled'])).optional(),
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  pageSize: z.number().int().min(1).max(10_000).optional(),
  connections: z.number().int().min(1).max(64).optional(),
  maxActivitiesPerSecond: z.number().positive().optional(),
}).superRefine((config, ctx) => {
  const problem = ldapTlsProblem(config.url, config.tls);
  if (problem) ctx.addIssue({ code: 'custom', path: ['tls'], message: problem });
});

export const connectorConfigSchema = z.discriminatedUnion('type', [scimConnectorConfigSchema, ldapConnectorConfigSchema]);
export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;

export type CreateConnectorOptions = {
  env?: NodeJS.ProcessEnv;
  /** Relative secret files are resolved against this folder (the project root). */
  root?: string;
  logger?: Logger;
};

/** Builds the connector a validated config describes. Secrets are not read until first use. */
export function createConnector(config: ConnectorConfig, options: CreateConnectorOptions = {}): Connector {
  const reader = (ref: z.infer<typeof secretRefSchema>, purpose: string) =>
    secretReader(ref, { purpose, ...(options.env ? { env: options.env } : {}), root: options.root ?? path.resolve('.') });
  const logger = options.logger ? { logger: options.logger } : {};
  if (config.type === 'scim') {
    const auth =
      config.auth.kind === 'bearer'
        ? { kind: 'bearer' as const, token: reader(config.auth.token, `the bearer token of app ${config.app}`) }
        : {
            kind: 'oauth2' as const,
            tokenUrl: config.auth.tokenUrl,
            clientId: config.auth.clientId,
            clientSecret: reader(config.auth.clientSecret, `the OAuth client secret of app ${config.app}`),
            ...(config.auth.scope ? { scope: config.auth.scope } : {}),
            ...(config.auth.clientAuthentication ? { clientAuthentication: config.auth.clientAuthentication } : {}),
          };
    const root = options.root ?? path.resolve('.');
    const tls = config.tls
      ? { ca: fileReader(config.tls.caFile, { purpose: `the CA bundle (tls.caFile) of app ${config.app}`, root }), source: `tls.caFile ${path.resolve(root, config.tls.caFile)}` }
      : undefined;
    return new ScimConnector({
      app: config.app,
      baseUrl: config.baseUrl,
      auth,
      ...(tls ? { tls } : {}),
      ...(config.maxResponseBytes ? { maxResponseBytes: config.maxResponseBytes } : {}),
      ...(config.maxRetryAfterSeconds ? { maxRetryAfterMs: config.maxRetryAfterSeconds * 1000 } : {}),
      ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
      ...(config.pageSize ? { pageSize: config.pageSize } : {}),
      ...logger,
    });
  }
  const root = options.root ?? path.resolve('.');
  const ca = config.tls?.caFile ? { ca: fileReader(config.tls.caFile, { purpose: `the CA bundle (tls.caFile) of app ${config.app}`, root }) } : {};
  return new LdapConnector({
    app: config.app,
    url: config.url,
    ...(config.tls ? { tls: { ...ca, ...(config.tls.startTls ? { startTls: true } : {}) } } : {}),
    bindDn: config.bindDn,
    bindPassword: reader(config.bindPassword, `the LDAP bind password of app ${config.app}`),
    baseDn: config.baseDn,
    peopleDn: config.peopleDn,
    groupsDn: config.groupsDn,
    disable: config.disable,
    ...(config.placeholderMemberDn ? { placeholderMemberDn: config.placeholderMemberDn } : {}),
    ...(config.manageOus ? { manageOus: config.manageOus } : {}),
    ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    ...(config.pageSize ? { pageSize: config.pageSize } : {}),
    ...(config.connections ? { connections: config.connections } : {}),
    ...logger,
  });
}

/** Parses connector config; the error message says what to fix (z.prettifyError). */
export function parseConnectorConfig(raw: unknown, where = 'connector config'): ConnectorConfig {
  const parsed = connectorConfigSchema.safeParse(raw);
  if (!parsed.success) throw new TypeError(`invalid ${where}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const connectorsFileSchema = z
  .strictObject({ connectors: z.array(connectorConfigSchema) })
  .refine((f) => new Set(f.connectors.map((c) => c.app)).size === f.connectors.length, { message: 'each app may appear once' });

/**
 * Reads the connectors file (config/connectors.yaml): how the worker reaches each application.
 * Throws ConfigError with a message that says what to fix.
 */
export function loadConnectorsFile(file: string): ConnectorConfig[] {
  if (!existsSync(file)) throw new ConfigError(`connectors file ${file} does not exist; set PROVISIONER_CONNECTORS (connectors.file) to an existing file`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`connectors file ${file} is not valid YAML; correct it as listed below`, { cause: err, details: (err as Error).message.split('\n') });
  }
  const parsed = connectorsFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid connectors file ${file}; correct it as listed below (config/connectors.yaml shows the format)`, { details: z.prettifyError(parsed.error).split('\n') });
  return parsed.data.connectors;
}
