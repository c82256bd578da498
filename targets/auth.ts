// Client authentication of a target app: static bearer tokens (RFC 6750) and tokens issued by an
// OAuth 2.0 client-credentials grant (RFC 6749 §4.4). Issued tokens are signed, not stored, so
// they stay valid across a restart of the app until they expire.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { sendScimError } from './scim-errors.js';

export type OAuthClient = { clientId: string; clientSecret: string; tokenTtlSeconds?: number };

export type AuthOptions = {
  appName: string;
  bearerTokens: readonly string[];
  oauth?: OAuthClient;
  now?: () => number;
};

/** Compares secrets in constant time (over their digests, so lengths do not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Parses `Authorization: <scheme> <credentials>` (the scheme is case-insensitive, RFC 9110 §11.1). */
export function credentials(req: Request, scheme: 'Bearer' | 'Basic'): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  return match && match[1]!.toLowerCase() === scheme.toLowerCase() ? match[2] : undefined;
}

export class ClientAuth {
  readonly #now: () => number;
  readonly #key: Buffer | undefined;

  constructor(private readonly options: AuthOptions) {
    this.#now = options.now ?? Date.now;
    // Tokens are signed with a key derived from the client secret: rotating the secret revokes them.
    this.#key = options.oauth
      ? createHmac('sha256', options.oauth.clientSecret).update(`scim-target-token:${options.appName}:${options.oauth.clientId}`).digest()
      : undefined;
  }

  /** Issues an access token for the configured client; undefined when OAuth is not configured. */
  issue(): { token: string; expiresIn: number } | undefined {
    if (!this.options.oauth || !this.#key) return undefined;
    const expiresIn = this.options.oauth.tokenTtlSeconds ?? 3600;
    const payload = b64url(JSON.stringify({ sub: this.options.oauth.clientId, exp: this.#now() + expiresIn * 1000, jti: b64url(randomBytes(9)) }));
    const signature = b64url(createHmac('sha256', this.#key).update(payload).digest());
    return { token: `${payload}.${signature}`, expiresIn };
  }

  /** The static bearer tokens in force (the configured ones until an operator rotates them). */
  #bearerTokens: readonly string[] | undefined;

  /** Replaces every static bearer token with one fresh token, and returns it: the old ones get 401 from now on. */
  rotateBearerTokens(): string {
    const token = b64url(randomBytes(24));
    this.#bearerTokens = [token];
    return token;
  }

  /** Is this bearer token one of the static tokens, or an issued token that has not expired? */
  accepts(token: string): boolean {
    if ((this.#bearerTokens ?? this.options.bearerTokens).some((t) => sameSecret(token, t))) return true;
    if (!this.#key) return false;
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return false;
    if (!sameSecret(signature, b64url(createHmac('sha256', this.#key).update(payload).digest()))) return false;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
      return typeof claims.exp === 'number' && this.#now() < claims.exp;
    } catch {
      return false;
    }
  }

  /** Express middleware: 401 in SCIM error format unless the request carries an accepted bearer token. */
  requireClient(): RequestHandler {
    return (req, res, next) => {
      const token = credentials(req, 'Bearer');
      if (token === undefined) return unauthorized(res, this.options.appName, undefined, 'authentication required: send Authorization: Bearer <token>');
      if (!this.accepts(token)) return unauthorized(res, this.options.appName, 'invalid_token', 'the bearer token is not valid or has expired');
      next();
    };
  }

  /**
   * POST /oauth/token (RFC 6749 §4.4.2): grant_type=client_credentials; the client authenticates
   * with HTTP Basic or client_id/client_secret in the form body (§2.3.1), not both.
   */
  tokenEndpoint(): RequestHandler {
    return (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      const oauth = this.options.oauth;
      if (!oauth) return oauthError(res, 400, 'unauthorized_client', 'this app does not accept the client credentials grant');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const basic = credentials(req, 'Basic');
      let clientId: string | undefined;
      let clientSecret: string | undefined;
      if (basic !== undefined) {
        if (body.client_id !== undefined && body.client_secret !== undefined) {
          return oauthError(res, 400, 'invalid_request', 'use one client authentication method, not both');
        }
        const decoded = Buffer.from(basic, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return oauthError(res, 401, 'invalid_client', 'malformed Basic credentials', true);
        clientId = safeDecode(decoded.slice(0, colon));
        clientSecret = safeDecode(decoded.slice(colon + 1));
      } else {
        clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
        clientSecret = typeof body.client_secret === 'string' ? body.client_secret : undefined;
      }
      if (body.grant_type === undefined) return oauthError(res, 400, 'invalid_request', 'grant_type is required');
      if (body.grant_type !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
      if (clientId === undefined || clientSecret === undefined || !sameSecret(clientId, oauth.clientId) || !sameSecret(clientSecret, oauth.clientSecret)) {
        return oauthError(res, 401, 'invalid_client', 'unknown client or wrong secret', basic !== undefined);
      }
      const issued = this.issue()!;
      res.status(200).json({ access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn });
    };
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** RFC 6750 §3: 401 with a WWW-Authenticate challenge; the body is a SCIM error (RFC 7644 §3.12). */
export function unauthorized(res: Response, realm: string, error: 'invalid_token' | undefined, detail: string): void {
  res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"${error ? `, error="${error}"` : ''}`);
  sendScimError(res, 401, undefined, detail);
}

/** RFC 6749 §5.2 error answer. */
function oauthError(res: Response, status: 400 | 401, error: string, description: string, basicChallenge = false): void {
  if (status === 401) res.setHeader('WWW-Authenticate', basicChallenge ? 'Basic realm="oauth"' : 'Bearer realm="oauth"');
  res.status(status).json({ error, error_description: description });
}
