// Authentication of API callers: a bearer token that a verifier turns into the caller (people's
// tokens from the organisation's OpenID provider, api/oidc.ts; in development mode also the HS256
// development tokens below, api/verifier.ts chooses); and authorisation per route from one table.
// Every refusal goes to one hook (logged and audited). Tokens are never logged, echoed or put in an
// error message.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import { apiDevJwtSecretFile, apiRoles, ConfigError, type Config } from '../schemas/config.js';
import type { AuditEntry } from '../store/audit-record.js';
import { IdpUnavailableError } from './oidc-discovery.js';
import { employeeIdSchema } from '../schemas/events.js';

export { apiRoles };
export type ApiRole = (typeof apiRoles)[number];

/** The authenticated caller: the approver of a decision is always this, never a typed name. */
export type Caller = { employeeId: string; roles: ApiRole[] };

/**
 * Turns a bearer token into its caller, or throws: UnauthenticatedError (401), NoRoleError (403),
 * IdpUnavailableError (503: the identity provider could not be asked).
 */
export type TokenVerifier = (token: string) => Promise<Caller>;

export type JwtSettings = {
  /** HS256 shared secret (at least 32 bytes). */
  secret: Uint8Array;
  issuer: string;
  audience: string;
  /** Accepted clock skew, in seconds. */
  clockToleranceSeconds?: number;
};

const MIN_SECRET_BYTES = 32;

/** Where `api token --dev` keeps a generated development secret. */
export const devSecretFile = apiDevJwtSecretFile;

/** A configuration problem of API authentication (a ConfigError, so the CLI prints just the message). */
export class ApiAuthConfigError extends ConfigError {}

function checkSecret(secret: string, source: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret.trim());
  if (bytes.length < MIN_SECRET_BYTES) throw new ApiAuthConfigError(`the API JWT secret from ${source} must be at least ${MIN_SECRET_BYTES} bytes (it is ${bytes.length}); give a longer one, e.g. \`openssl rand -base64 48\``);
  return bytes;
}

/**
 * The JWT settings of the configuration (api.jwt): the secret itself (PROVISIONER_API_JWT_SECRET),
 * else the file named by api.jwt.secretFile (PROVISIONER_API_JWT_SECRET_FILE), else
 * `<dataDir>/api-jwt-secret` if it exists; issuer and audience (defaults `provisioner` /
 * `provisioner-api`). Returns undefined when no secret is configured.
 */
export function loadJwtSettings(cfg: Pick<Config, 'dataDir' | 'api'>): JwtSettings | undefined {
  const { issuer, audience, secret, secretFile } = cfg.api.jwt;
  const common = { issuer, audience };
  if (secret) return { ...common, secret: checkSecret(secret, 'api.jwt.secret (PROVISIONER_API_JWT_SECRET)') };
  const file = secretFile || devSecretFile(cfg.dataDir);
  if (!existsSync(file)) {
    if (secretFile) throw new ApiAuthConfigError(`the API JWT secret file ${secretFile} does not exist; create it or correct api.jwt.secretFile (PROVISIONER_API_JWT_SECRET_FILE)`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApiAuthConfigError(`cannot read the API JWT secret file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); make it readable by this user`, { cause: err });
  }
  return { ...common, secret: checkSecret(text, file) };
}

/** Creates `<dataDir>/api-jwt-secret` (mode 0600) with a random secret, unless it exists. Local development only. */
export function ensureDevSecret(dataDir: string): string {
  const file = devSecretFile(dataDir);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return file;
}

export const ttlSchema = z.string().regex(/^\d{1,6}\s*(s|m|h|d)$/, 'a duration such as 90s, 15m, 1h or 7d');

const rolesSchema = z.array(z.enum(apiRoles)).min(1).refine((roles) => new Set(roles).size === roles.length, 'roles are listed once each');

export const mintRequestSchema = z.strictObject({ sub: employeeIdSchema, roles: rolesSchema, ttl: ttlSchema.default('1h') });

/** Mints a token (for development, the demo and tests; production tokens come from the IdP). */
export async function mintToken(settings: JwtSettings, request: z.input<typeof mintRequestSchema>): Promise<string> {
  const { sub, roles, ttl } = mintRequestSchema.parse(request);
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(ttl.replace(/\s+/g, ''))
    .sign(settings.secret);
}

export type AuthFailureReason =
  | 'missing-token'
  | 'malformed-authorization'
  | 'expired-token'
  | 'invalid-token'
  | 'invalid-claims'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'token-too-old'
  /** An OpenID Connect ID token (it carries a nonce) where an access token belongs. */
  | 'id-token'
  | 'no-employee-id'
  /** An HS256 development token where only the identity provider's are accepted (production mode, or no development secret). */
  | 'development-token';

/**
 * The API caller is not authenticated (HTTP 401): no token, a malformed header, a bad or expired
 * token. Not connectors/errors.ts AuthError, which is an application refusing the connector's own
 * credentials (and which workflows retry by that name, so the names stay apart).
 */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
  constructor(readonly reason: AuthFailureReason, message: string) {
    super(message);
  }
}

/** A person the identity provider vouches for, whose groups map to no provisioner role (HTTP 403). */
export class NoRoleError extends Error {
  override readonly name = 'NoRoleError';
  constructor(readonly employeeId: string, message: string) {
    super(message);
  }
}

const claimsSchema = z.object({ sub: employeeIdSchema, roles: rolesSchema, exp: z.number() });

/** Verifies a development token: signature, algorithm, issuer, audience and expiry, then the claims; throws UnauthenticatedError (never naming the token). */
export async function verifyToken(settings: JwtSettings, token: string): Promise<Caller> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, settings.secret, {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: settings.clockToleranceSeconds ?? 30,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('expired-token', 'the token has expired');
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw new UnauthenticatedError('invalid-token', `the token's ${err.claim} claim is not accepted`);
    throw new UnauthenticatedError('invalid-token', 'the token is not valid (signature, algorithm or format)');
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    throw new UnauthenticatedError('invalid-claims', `the token's claims are not accepted: ${claims.error.issues.map((i) => `${i.path.join('.') || 'claims'}: ${i.message}`).join('; ')}`);
  }
  return { employeeId: claims.data.sub, roles: claims.data.roles };
}

/** The bearer token of an Authorization header value; throws UnauthenticatedError when absent or malformed. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthenticatedError('missing-token', 'an Authorization: Bearer <token> header is required');
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!match) throw new UnauthenticatedError('malformed-authorization', 'the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

// ---- authorisation: one table, route → roles allowed ----

/** Which roles may call which route. A route missing here is refused to everyone. */
export const routeRoles = {
  'POST /codec/encode': ['operator', 'admin'],
  'POST /codec/decode': ['operator', 'admin', 'auditor'],
  'GET /identities/:employeeId': ['operator', 'auditor', 'admin'],
  // Retry a change that could not be planned; accept a held snapshot's sequence (api/routes/identities.ts).
  'POST /identities/:employeeId/retry': ['operator', 'admin'],
  'POST /identities/:employeeId/resequence': ['operator', 'admin'],
  'GET /fence': ['operator', 'auditor', 'admin'],
  'POST /fence/batches/:batchId/release': ['operator', 'admin'],
  'POST /fence/batches/:batchId/reject': ['operator', 'admin'],
  // The caller's own pending approvals; `?scope=all` lists everyone's (a separate row: read-only roles).
  'GET /approvals': ['approver', 'auditor', 'admin'],
  'GET /approvals?scope=all': ['auditor', 'admin'],
  'GET /approvals/:approvalId': ['approver', 'auditor', 'admin'],
  // The approver is the caller; eligibility and separation of duties are the workflow's check.
  'POST /approvals/:approvalId/approve': ['approver', 'admin'],
  'POST /approvals/:approvalId/reject': ['approver', 'admin'],
  'GET /requests/:ticketId': ['approver', 'auditor', 'operator', 'admin'],
  // Applications with their modes; arming or disarming one is an operator's decision, taken as the caller.
  'GET /applications': ['operator', 'auditor', 'admin'],
  'POST /applications/:app/arm': ['operator', 'admin'],
  'POST /applications/:app/disarm': ['operator', 'admin'],
  // Reconciliation (api/routes/reconcile.ts): start a run; read runs and drift.
  'POST /reconcile/:app': ['operator', 'admin'],
  'GET /reconcile/runs': ['operator', 'auditor', 'admin'],
  'GET /drift': ['operator', 'auditor', 'admin'],
  // Quarantined applications; holding or releasing one is an operator's decision, taken as the caller.
  'GET /quarantine': ['operator', 'auditor', 'admin'],
  'POST /quarantine/:app/hold': ['operator', 'admin'],
  'POST /quarantine/:app/release': ['operator', 'admin'],
  // Applying a policy version changes everyone's access: an admin's decision, taken as the caller; its rollout is for all to follow.
  'POST /policy/apply': ['admin'],
  'GET /policy/rollouts': ['operator', 'auditor', 'admin'],
  'GET /policy/rollouts/:version': ['operator', 'auditor', 'admin'],
} as const satisfies Record<string, readonly ApiRole[]>;

export type RouteKey = keyof typeof routeRoles;

export function isAllowed(route: string, roles: readonly ApiRole[]): boolean {
  const allowed = (routeRoles as Record<string, readonly ApiRole[]>)[route];
  return allowed !== undefined && roles.some((role) => allowed.includes(role));
}

/** The caller authenticated for this request (set by `authenticate`). */
export function callerOf(res: Response): Caller | undefined {
  return res.locals.caller as Caller | undefined;
}

/** Sends a JSON error; `reason` is a stable code, `error` a message that never carries the token. */
export function sendError(res: Response, status: number, reason: string, error: string, extra: Record<string, unknown> = {}): void {
  if (status === 401) res.setHeader('WWW-Authenticate', `Bearer realm="provisioner", error="${reason === 'missing-token' ? 'invalid_request' : 'invalid_token'}"`);
  res.status(status).json({ error, reason, ...extra });
}

/** The route-table key of a request (`GET /identities/:employeeId`), or undefined for a path the table does not list. */
export function routeKeyOf(method: string, path: string): RouteKey | undefined {
  const segments = path.split('/');
  return (Object.keys(routeRoles) as RouteKey[]).find((key) => {
    const [keyMethod, keyPath] = key.split(' ') as [string, string];
    if (keyMethod !== method.toUpperCase() || keyPath.includes('?')) return false;
    const pattern = keyPath.split('/');
    return pattern.length === segments.length && pattern.every((p, i) => (p.startsWith(':') ? segments[i] !== '' : p === segments[i]));
  });
}

/**
 * A request refused before its handler ran: 401 (no valid token), 403 (a person with no provisioner
 * role, or a role the route does not allow), 503 (the identity provider could not be asked; `detail`
 * says why, for the log).
 */
export type AuthRefusal =
  | { status: 401; kind: AuthFailureReason; method: string; path: string; route: RouteKey | undefined }
  | { status: 403; kind: 'no-role'; method: string; path: string; route: RouteKey | undefined; caller: { employeeId: string; roles: [] } }
  | { status: 403; kind: 'role-not-allowed'; method: string; path: string; route: RouteKey; caller: Caller }
  | { status: 503; kind: 'idp-unavailable'; method: string; path: string; route: RouteKey | undefined; detail: string };

/** Told of every refusal before the answer goes out (it logs and audits; see auditRefusals). */
export type RefusalHook = (refusal: AuthRefusal) => void | Promise<void>;

/** The request's path without the query string (which could carry anything). */
export const pathOf = (req: Request): string => req.originalUrl.split('?')[0] ?? '/';

async function tell(onRefused: RefusalHook | undefined, refusal: AuthRefusal): Promise<void> {
  // The hook guards itself (auditRefusals logs a failed append); this is the last line of defence.
  try {
    await onRefused?.(refusal);
  } catch {
    /* the refusal is answered all the same */
  }
}

/**
 * Express middleware: the verifier turns the bearer token into the caller (see callerOf), or the
 * request is refused: 401 (no valid token), 403 no-role (nobody provisioner knows a role for), 503
 * idp-unavailable (the identity provider could not be asked; try again shortly).
 */
export function authenticate(verify: TokenVerifier, onRefused?: RefusalHook) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    // A caller the server established before (the local Temporal UI in development mode) stands.
    if (res.locals.caller) return next();
    try {
      res.locals.caller = await verify(bearerToken(req.headers.authorization));
      next();
    } catch (err) {
      const urlPath = pathOf(req);
      const where = { method: req.method, path: urlPath, route: routeKeyOf(req.method, urlPath) };
      if (err instanceof UnauthenticatedError) {
        await tell(onRefused, { status: 401, kind: err.reason, ...where });
        return sendError(res, 401, err.reason, err.message);
      }
      if (err instanceof NoRoleError) {
        await tell(onRefused, { status: 403, kind: 'no-role', ...where, caller: { employeeId: err.employeeId, roles: [] } });
        return sendError(res, 403, 'no-role', err.message);
      }
      if (err instanceof IdpUnavailableError) {
        await tell(onRefused, { status: 503, kind: 'idp-unavailable', ...where, detail: err.message });
        res.setHeader('Retry-After', '5');
        return sendError(res, 503, 'idp-unavailable', 'the identity provider could not be reached to verify the token; try again shortly');
      }
      next(err);
    }
  };
}

/**
 * Express middleware: the route's roles from the table, or 403. `route` may depend on the request
 * (e.g. `GET /approvals?scope=all` is a row of its own), so every refusal still comes from the table.
 */
export function authorize(route: RouteKey | ((req: Request) => RouteKey), onRefused?: RefusalHook) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = typeof route === 'function' ? route(req) : route;
    const caller = callerOf(res);
    if (!caller) return sendError(res, 401, 'missing-token', 'not authenticated');
    if (!isAllowed(key, caller.roles)) {
      await tell(onRefused, { status: 403, kind: 'role-not-allowed', method: req.method, path: pathOf(req), route: key, caller });
      return sendError(res, 403, 'role-not-allowed', `${key} needs one of the roles ${routeRoles[key].join(', ')}`, { requiredRoles: routeRoles[key] });
    }
    next();
  };
}

/** The audit trail's side of the API (structurally `Store['audit']`; kept narrow so auth does not depend on the store). */
export type RefusalAuditor = { audit(entry: AuditEntry): Promise<unknown> };

/**
 * The refusal hook of the API: a log line for each, and with a store an `api.refused` audit record
 * (actor the API service; the reason names the method, the route and the kind of failure, never the
 * token; a path the route table does not know is not recorded, as it could carry anything). A 403's
 * caller is the record's subject (sealed under their key). A failed append is logged, and the
 * refusal answered all the same.
 */
export function auditRefusals(options: { logger: Logger; store?: RefusalAuditor }): RefusalHook {
  const { logger, store } = options;
  return async (refusal) => {
    const where = refusal.route ?? `${refusal.method} (a path the API does not serve)`;
    if (refusal.status === 401) logger.warn({ method: refusal.method, path: refusal.path, reason: refusal.kind }, 'api authentication refused');
    else if (refusal.status === 503) logger.error({ method: refusal.method, path: refusal.path, reason: refusal.kind, detail: refusal.detail }, 'api: the identity provider could not be asked');
    else logger.warn({ method: refusal.method, path: refusal.path, route: refusal.route, reason: refusal.kind, caller: refusal.caller.employeeId, roles: refusal.caller.roles }, 'api authorisation refused');
    if (!store) return;
    const why =
      refusal.kind === 'role-not-allowed'
        ? ` (caller's roles: ${refusal.caller.roles.join(', ')}; allowed: ${routeRoles[refusal.route].join(', ')})`
        : refusal.kind === 'no-role' ? " (the identity provider's groups map to no provisioner role)" : '';
    try {
      await store.audit({
        actor: { type: 'service', id: 'api' },
        action: 'api.refused',
        reason: `${where}: ${refusal.status} ${refusal.kind}${why}`,
        ...(refusal.status === 403 ? { subject: { employeeId: refusal.caller.employeeId } } : {}),
        changes: [{ op: 'api.request', outcome: refusal.kind }],
      });
    } catch (err) {
      logger.error({ err: { message: (err as Error).message }, method: refusal.method, path: refusal.path }, 'api: could not audit a refused request');
    }
  };
}
