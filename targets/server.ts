// One target app: a SCIM 2.0 service provider with its own users, groups, credentials, faults and
// state file, listening on one port. `startScimApp` is what the process entry (main.ts) and the
// tests start.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from 'pino';
import { appUrls, type Faults } from './apps-file.js';
import { createLogger } from '../observability/logger.js';
import { adminRouter } from './admin.js';
import { ClientAuth, type OAuthClient } from './auth.js';
import type { TargetState } from './context.js';
import { FaultInjector } from './faults.js';
import { behaviourOf, type Behaviour } from './profiles.js';
import { declareScimResources } from './resources.js';
import { scimRouter } from './scim-routes.js';
import { StateFile } from './state-file.js';
import { ResourceStore } from './store.js';
import { WriteLog } from './write-log.js';

export type ScimAppOptions = {
  name: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Static bearer tokens clients may use (RFC 6750). */
  bearerTokens?: readonly string[];
  /** Client credentials accepted at POST /oauth/token (RFC 6749 §4.4). */
  oauth?: OAuthClient;
  /** Token of the /admin API; without one the app has no /admin API (404), as a real SaaS app. */
  adminToken?: string | undefined;
  /** Serve HTTPS with this certificate and key: PEM text, or the files that hold it. */
  tls?: TlsOptions | undefined;
  /** Persist users and groups to this JSON file; in memory when absent. */
  stateFile?: string;
  /** Faults in effect from the start. */
  faults?: Faults;
  /** Most resources per list page; default 1000. */
  maxResults?: number;
  /** Milliseconds between a change and the state file write that includes it; default 20. */
  persistDelayMs?: number;
  logger?: Logger;
  /** How the app behaves where SCIM servers differ (profiles.ts); the standard profile when absent. */
  behaviour?: Behaviour;
  /** The clock for token expiry and meta timestamps (tests move it). */
  now?: () => number;
};

export type TlsOptions = { cert: string; key: string } | { certFile: string; keyFile: string };

/** The PEM certificate and key TLS options name (read once, at start). */
function tlsCredentials(tls: TlsOptions): { cert: string; key: string } {
  if ('cert' in tls) return tls;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`the TLS ${what} file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { cert: read(tls.certFile, 'certificate'), key: read(tls.keyFile, 'key') };
}

export type ScimApp = {
  name: string;
  host: string;
  port: number;
  /** http(s)://host:port: /health, /oauth/token, /admin. */
  url: string;
  /** The SCIM base URL: `${url}${behaviour.basePath}`. */
  scimUrl: string;
  /** Stops listening, ends open connections and writes the state file. */
  close: () => Promise<void>;
};

const authenticationSchemes = (oauth: boolean) => [
  {
    type: 'oauthbearertoken',
    name: 'OAuth Bearer Token',
    description: 'Authentication with a bearer token (a static token or one issued at /oauth/token)',
    specUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
    primary: true,
  },
  ...(oauth
    ? [{ type: 'oauth2', name: 'OAuth 2.0 client credentials', description: 'POST /oauth/token with grant_type=client_credentials', specUri: 'https://datatracker.ietf.org/doc/html/rfc6749#section-4.4' }]
    : []),
];

export async function startScimApp(options: ScimAppOptions): Promise<ScimApp> {
  declareScimResources();
  const now = options.now ?? Date.now;
  const logger = (options.logger ?? createLogger({ name: 'scim-target' })).child({ app: options.name });
  const behaviour = options.behaviour ?? behaviourOf();
  const snapshot = options.stateFile ? StateFile.read(options.stateFile) : undefined;
  const store = new ResourceStore(now, snapshot, { userNameCaseExact: behaviour.userNameCaseExact });
  const writes = new WriteLog();
  let stateFile: StateFile | undefined;
  if (options.stateFile) stateFile = new StateFile(options.stateFile, () => store.snapshot(), logger, options.persistDelayMs);
  const state: TargetState = { name: options.name, store, writes, logger, behaviour, changed: () => stateFile?.changed() };
  const faults = new FaultInjector(options.faults ?? {}, now);
  const auth = new ClientAuth({
    appName: options.name,
    bearerTokens: options.bearerTokens ?? [],
    ...(options.oauth ? { oauth: options.oauth } : {}),
    now,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are resource versions (RFC 7644 §3.14), not body hashes
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Whether a GET carried a filter (never its value: it may name a person): a listing's pages are the unfiltered ones.
      logger.debug({ method: req.method, path: req.path, ...(typeof req.query.filter === 'string' ? { filtered: true } : {}), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', app: options.name, pid: process.pid, users: store.count('User'), groups: store.count('Group') });
  });
  app.post('/oauth/token', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), auth.tokenEndpoint());
  if (options.adminToken !== undefined) {
    app.use(
      '/admin',
      adminRouter({
        adminToken: options.adminToken,
        state,
        faults,
        rotateTokens: () => auth.rotateBearerTokens(),
        reset: () => {
          store.reset();
          writes.clear();
          state.changed();
        },
      }),
    );
  }
  app.use(behaviour.basePath, auth.requireClient(), faults.middleware(), scimRouter({ state, faults, maxResults: options.maxResults ?? 1000, authenticationSchemes: authenticationSchemes(!!options.oauth) }));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', detail: `SCIM lives under ${behaviour.basePath}` });
  });
  app.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_request', detail: 'the request body is not valid JSON' });
      return;
    }
    logger.error({ err }, 'request failed');
    res.status(err.status && err.status >= 400 && err.status < 600 ? err.status : 500).json({ error: 'server_error' });
  });

  const server = options.tls ? createHttpsServer(tlsCredentials(options.tls), app) : createServer(app);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const { url, scimUrl } = appUrls(host, port, behaviour.basePath, options.tls ? 'https' : 'http');
  logger.info({ url, scimUrl, users: store.count('User'), groups: store.count('Group'), stateFile: options.stateFile ?? null, faults: faults.view().faults, behaviour }, 'SCIM app listening');

  let closing: Promise<void> | undefined;
  return {
    name: options.name,
    host,
    port,
    url,
    scimUrl,
    close: () => (closing ??= closeServer(server, stateFile, logger)),
  };
}

async function closeServer(server: Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections'>, stateFile: StateFile | undefined, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Requests in flight get a moment to finish; then their connections are ended too.
  const force = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(force);
  await stateFile?.flush();
  logger.info('SCIM app stopped');
}
