// The HTTP API: health and readiness, the remote payload codec for the Temporal UI, the identity
// state, the fence (routes/fence.ts), approvals and access requests (routes/approvals.ts), the
// applications' modes (routes/applications.ts). Bound to 127.0.0.1; every route but /health and
// /ready needs a bearer JWT and one of the roles the route table (auth.ts) allows, and every refusal
// (401, 403) is logged and audited. Inputs are validated with zod; errors are JSON `{ error, reason }`
// and never carry a token.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, type Payload, type PayloadCodec } from '@temporalio/common';
import { EncryptionCodec } from '../codec/encryption-codec.js';
import { loadKeyring } from '../codec/keyring.js';
import type { Logger } from '../observability/logger.js';
import { isLoopbackHost, type Config } from '../schemas/config.js';
import { employeeIdSchema } from '../schemas/events.js';
import { recentOutcomes, type Store } from '../store/index.js';
import { getState, identityWorkflowId } from '../workflows/messages.js';
import { listenError } from '../runtime/ports.js';
import { auditRefusals, authenticate, authorize, callerOf, pathOf, sendError, type Caller, type JwtSettings, type TokenVerifier } from './auth.js';
import { chooseVerifier } from './verifier.js';
import { registerApplicationRoutes } from './routes/applications.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerFenceRoutes } from './routes/fence.js';
import { registerIdentityRoutes } from './routes/identities.js';
import { registerReconcileRoutes } from './routes/reconcile.js';
import { registerQuarantineRoutes } from './routes/quarantine.js';
import { registerPolicyRoutes } from './routes/policy.js';
import { noWorkerAnswered } from '../clients/unanswered.js';

/** The setting that chooses the API's port, as error messages name it. */
export const API_PORT_SETTING = 'http.apiPort';

/** The Temporal UI's origin(s) allowed to call the codec endpoint: api.corsOrigins, default the local UI. */
export function corsOrigins(cfg: Config): string[] {
  return cfg.api.corsOrigins ?? [`http://127.0.0.1:${cfg.temporal.uiPort}`, `http://localhost:${cfg.temporal.uiPort}`];
}

export type StartApiOptions = {
  cfg: Config;
  logger: Logger;
  /** A Temporal client built with dataConverter(cfg.dataDir). */
  client: Client;
  store?: Store;
  /** 0 picks a free port (default: http.apiPort). */
  port?: number;
  /** Turns a bearer token into the caller (api/verifier.ts apiVerifier); or give jwt. */
  verify?: TokenVerifier;
  /** Development tokens only (tests and the demo): shorthand for verify = chooseVerifier({ mode, development: jwt }); refused in production mode. */
  jwt?: JwtSettings;
  /** Origins allowed by CORS on the codec routes (default: corsOrigins(cfg)). */
  corsOrigins?: string[];
  /** The payload codec (default: EncryptionCodec over loadKeyring({ dataDir: cfg.dataDir, mode: cfg.mode })). */
  codec?: PayloadCodec;
  /** How long a Temporal query may take before the API answers 504 (ms). */
  queryTimeoutMs?: number;
  /** How long an approval decision (a Temporal update) may take before the API answers 504 (ms). */
  decisionTimeoutMs?: number;
};

export type ApiServer = { port: number; url: string; server: Server; close(): Promise<void> };

// ---- the remote codec protocol: { payloads: [{ metadata: { key: base64 }, data: base64 }] } ----

const base64 = z.string().max(8 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
const jsonPayloadSchema = z.object({ metadata: z.record(z.string().max(256), base64).optional(), data: base64.optional() });
// The protobuf JSON of Payloads: an empty list is left out (the temporal CLI encodes a query without arguments as `{}`).
const codecBodySchema = z.object({ payloads: z.array(jsonPayloadSchema).max(10_000).default([]) });
const namespaceSchema = z.string().min(1).max(256);
type JsonPayload = z.infer<typeof jsonPayloadSchema>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const zodReason = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).slice(0, 5).join('; ');

/** Runs fn and answers after `ms` with a timeout error if it has not finished. */
function withTimeout<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    fn().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** The caller the local Temporal UI decodes as, in development mode: it reads, never writes. */
const LOCAL_UI: Caller = { employeeId: 'local-temporal-ui', roles: ['auditor'] };

const isLoopbackAddress = (address: string | undefined) => address !== undefined && (address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address));

/**
 * Development mode only: the Temporal UI of the person running the local stack decodes without a
 * token (the local dev server's UI cannot pass one), so the demo's UI shows decoded inputs, results
 * and queries. Only `/codec/decode`, only without an Authorization header, only from a browser page
 * on an allowed loopback origin (`Origin` is set by the browser, not by the page) and from a loopback
 * address; everything else goes through the token check as in production.
 */
function localUiDecodes(origins: ReadonlySet<string>, log: Logger) {
  const localOrigins = new Set([...origins].filter((o) => URL.canParse(o) && isLoopbackHost(new URL(o).hostname)));
  let announced = false;
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (!req.headers.authorization && origin && localOrigins.has(origin) && isLoopbackAddress(req.socket.remoteAddress)) {
      res.locals.caller = LOCAL_UI;
      if (!announced) log.info({ origin }, 'codec: the local Temporal UI decodes without a token (development mode only)');
      announced = true;
    }
    next();
  };
}

export async function startApi(options: StartApiOptions): Promise<ApiServer> {
  const { cfg, logger, client, store } = options;
  if (!options.verify && !options.jwt) throw new TypeError('startApi: give verify (or jwt for development tokens)');
  const verify = options.verify ?? chooseVerifier({ mode: cfg.mode, development: options.jwt });
  const log = logger.child({ component: 'api' });
  const codec = options.codec ?? new EncryptionCodec(loadKeyring({ dataDir: cfg.dataDir, mode: cfg.mode }));
  const origins = new Set(options.corsOrigins ?? corsOrigins(cfg));
  const queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
  const decisionTimeoutMs = options.decisionTimeoutMs ?? 30_000;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  // One line per request: method, route path (no query string), status, duration, caller. Never headers.
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const caller = callerOf(res);
      log.info({ method: req.method, path: pathOf(req), status: res.statusCode, ms: Math.round(performance.now() - started), ...(caller ? { caller: caller.employeeId } : {}) }, 'api request');
    });
    next();
  });

  // CORS for the Temporal UI on the codec routes: an allowed origin is echoed (never "*", as
  // credentials are allowed), the preflight answers without authentication.
  app.use('/codec', (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.vary('Origin');
      if (!origins.has(origin)) {
        if (req.method === 'OPTIONS') return sendError(res, 403, 'origin-not-allowed', 'this origin may not call the codec endpoint');
        return next();
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      res.setHeader('Access-Control-Max-Age', '600');
      return void res.status(204).end();
    }
    next();
  });

  app.get('/health', (_req, res) => void res.json({ status: 'ok', process: 'api' }));
  app.get('/ready', async (_req, res) => {
    const check = async (fn: () => Promise<unknown>) => withTimeout(3_000, 'check', fn).then(() => true, () => false);
    const checks: Record<string, boolean> = {
      temporal: await check(() => client.connection.workflowService.getSystemInfo({})),
      ...(store ? { postgres: await check(() => store.pool.query('select 1')) } : {}),
    };
    const ok = Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', process: 'api', checks });
  });

  // Everything below needs a valid bearer token; every 401 and 403 is logged and, with a store, audited.
  const onRefused = auditRefusals({ logger: log, ...(store ? { store } : {}) });
  if (cfg.mode === 'development') app.use('/codec/decode', localUiDecodes(origins, log));
  app.use(authenticate(verify, onRefused));
  app.use(express.json({ limit: '16mb', type: ['application/json', 'application/*+json'] }));

  const codecRoute = (direction: 'encode' | 'decode') => async (req: Request, res: Response) => {
    // The temporal CLI sends the header empty; the Temporal UI names the namespace.
    const header = req.headers['x-namespace'];
    const namespace = namespaceSchema.optional().safeParse(header === '' ? undefined : header);
    if (!namespace.success) return sendError(res, 400, 'invalid-namespace', 'the X-Namespace header is not a namespace name');
    if (namespace.data !== undefined && namespace.data !== cfg.temporal.namespace) {
      return sendError(res, 400, 'unknown-namespace', `this codec serves the namespace ${cfg.temporal.namespace}`);
    }
    const body = codecBodySchema.safeParse(req.body);
    if (!body.success) return sendError(res, 400, 'invalid-body', `expected { payloads: [{ metadata, data }] } in base64: ${zodReason(body.error)}`);
    let result: Payload[];
    try {
      const payloads = body.data.payloads.map(fromJson);
      result = direction === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message }, direction }, 'codec refused the payloads');
      return sendError(res, 422, `cannot-${direction}`, `the payloads cannot be ${direction}d: ${(err as Error).message}`);
    }
    res.json({ payloads: result.map(toJson) });
  };
  app.post('/codec/encode', authorize('POST /codec/encode', onRefused), codecRoute('encode'));
  app.post('/codec/decode', authorize('POST /codec/decode', onRefused), codecRoute('decode'));

  app.get('/identities/:employeeId', authorize('GET /identities/:employeeId', onRefused), async (req, res) => {
    const id = employeeIdSchema.safeParse(req.params.employeeId);
    if (!id.success) return sendError(res, 400, 'invalid-employee-id', id.error.issues[0]?.message ?? 'invalid employee id');
    const employeeId = id.data;
    const workflowId = identityWorkflowId(employeeId);
    try {
      const state = await client.withDeadline(Date.now() + queryTimeoutMs, () => client.workflow.getHandle(workflowId).query(getState));
      const outcomes = store ? await recentOutcomes(store.pool, employeeId) : undefined;
      res.json({ employeeId, workflowId, state, ...(outcomes ? { recentOutcomes: outcomes } : {}) });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return sendError(res, 404, 'identity-not-found', `no identity workflow for ${employeeId}`);
      if (noWorkerAnswered(err)) return sendError(res, 504, 'query-timeout', `the identity workflow did not answer within ${queryTimeoutMs} ms (is a worker running?)`);
      throw err;
    }
  });

  registerIdentityRoutes(app, { client, store, onRefused, queryTimeoutMs });
  registerFenceRoutes(app, { client, store, onRefused, taskQueue: cfg.temporal.taskQueue });
  registerApprovalRoutes(app, { client, store, logger: log, onRefused, queryTimeoutMs, decisionTimeoutMs });
  registerApplicationRoutes(app, { cfg, store, logger: log, onRefused });
  registerReconcileRoutes(app, { client, store, onRefused, taskQueue: cfg.temporal.taskQueue });
  registerQuarantineRoutes(app, { client, store, logger: log, onRefused, taskQueue: cfg.temporal.taskQueue });
  registerPolicyRoutes(app, { cfg, client, store, logger: log, onRefused });

  app.use((_req, res) => sendError(res, 404, 'not-found', 'no such route'));

  // Last: malformed JSON and anything unexpected, without echoing the request.
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'invalid-json', 'the request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 413, 'body-too-large', 'the request body is too large');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, e.status, 'bad-request', 'the request was not accepted');
    log.error({ err: { message: e.message, name: (err as Error)?.name }, method: req.method, path: pathOf(req) }, 'api request failed');
    sendError(res, 500, 'internal-error', 'the request failed; see the API log');
  });

  // A taken port stops start-up with one line (PortInUseError), not an EADDRINUSE stack.
  const server = await new Promise<Server>((resolve, reject) => {
    const port = options.port ?? cfg.http.apiPort;
    const refuse = (err: unknown) => reject(listenError(err, port, API_PORT_SETTING));
    const s = app.listen(port, '127.0.0.1', (err?: Error) => (err ? refuse(err) : resolve(s)));
    s.once('error', refuse);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  log.info({ url, codecEndpoint: `${url}/codec`, corsOrigins: [...origins] }, 'api listening');
  return {
    port,
    url,
    server,
    // Stops taking connections and waits for requests in flight; idle keep-alive connections are closed.
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
