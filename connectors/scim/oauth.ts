// OAuth 2.0 client credentials (RFC 6749 §4.4) for SCIM apps: one token per connector, cached,
// fetched by one request at a time however many calls wait for it, refreshed before it expires,
// and dropped when the app answers 401 to it (the caller then retries once with a fresh one).
import { fetch, type Response } from 'undici';
import { AuthError, TransientError } from '../errors.js';
import { classifyStatus, honouredRetryAfterMs } from '../http-status.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBoundedText, ResponseTooLarge } from './bounded-body.js';
import { certificateProblem, type DispatcherSource, type TlsOptions } from './tls.js';

export type OAuthClientCredentialsOptions = {
  app: string;
  tokenUrl: string;
  clientId: string;
  /** Read on every token request, so a rotated secret is picked up. */
  clientSecret: () => string;
  scope?: string;
  /** RFC 6749 §2.3.1: HTTP Basic (the default, which servers MUST support) or the form body. */
  clientAuthentication?: 'basic' | 'body';
  timeoutMs?: number;
  /** The largest token answer read (./bounded-body.ts). Default DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The longest Retry-After a refused token request is waited for (the app's maxRetryAfterMs); undefined: all of it. */
  maxRetryAfterMs?: number | undefined;
  /** The app's TLS settings (./tls.ts): token requests trust the same CA as its SCIM requests. */
  tls?: { dispatcher: DispatcherSource; options?: TlsOptions | undefined };
  now?: () => number;
};

type Cached = { value: string; refreshAt: number };

/** Refresh a token this long before it expires: 10 % of its lifetime, between 5 s and 60 s. */
export function refreshMarginMs(expiresInSeconds: number): number {
  return Math.min(60_000, Math.max(5_000, expiresInSeconds * 100));
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for Basic. */
function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

export class OAuthClientCredentials {
  #cached: Cached | undefined;
  #pending: Promise<Cached> | undefined;
  readonly #now: () => number;

  constructor(private readonly options: OAuthClientCredentialsOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** A valid access token: the cached one until its refresh time, else a new one. */
  async token(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.refreshAt) return cached.value;
    this.#pending ??= this.#fetch(signal).finally(() => (this.#pending = undefined));
    const fresh = await this.#pending;
    this.#cached = fresh;
    return fresh.value;
  }

  /** The app refused `token` (401): forget it, unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.#cached?.value === token) this.#cached = undefined;
  }

  /** Values that must never appear in a message. */
  secrets(): string[] {
    const out: string[] = [];
    if (this.#cached) out.push(this.#cached.value);
    try {
      out.push(this.options.clientSecret());
    } catch {
      // unreadable secret: nothing to redact
    }
    return out;
  }

  async #fetch(signal?: AbortSignal): Promise<Cached> {
    const { app, tokenUrl, clientId, scope } = this.options;
    const secret = this.options.clientSecret();
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if ((this.options.clientAuthentication ?? 'basic') === 'basic') headers.authorization = basic(clientId, secret);
    else {
      form.set('client_id', clientId);
      form.set('client_secret', secret);
    }
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
    let res: Response;
    const dispatcher = this.options.tls?.dispatcher();
    try {
      res = await fetch(tokenUrl, { method: 'POST', headers, body: form, signal: AbortSignal.any(signals), ...(dispatcher ? { dispatcher } : {}) });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const untrusted = certificateProblem(err, this.options.tls?.options);
      if (untrusted) throw new AuthError(`${app}: OAuth token request to ${tokenUrl}: ${untrusted}`, app);
      const why = (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'failed to connect';
      throw new TransientError(`${app}: OAuth token request to ${tokenUrl} ${why}`, app);
    }
    let text: string;
    try {
      text = await readBoundedText(res, this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
    } catch (err) {
      if (err instanceof ResponseTooLarge) throw new AuthError(`${app}: OAuth token request to ${tokenUrl}: ${err.message}`, app);
      text = '';
    }
    if (res.status !== 200) {
      // RFC 6749 §5.2: only the error code is repeated; the description could echo what we sent.
      let code = '';
      try {
        code = String((JSON.parse(text) as { error?: unknown }).error ?? '');
      } catch {
        code = '';
      }
      const message = `${app}: OAuth token request to ${tokenUrl} answered ${res.status}${code ? ` ${code.slice(0, 64)}` : ''} (client ${clientId})`;
      if (classifyStatus(res.status) === 'transient') throw new TransientError(message, app, honouredRetryAfterMs(res.headers.get('retry-after'), this.options.maxRetryAfterMs));
      throw new AuthError(message, app);
    }
    let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new AuthError(`${app}: OAuth token endpoint ${tokenUrl} answered 200 without a JSON body`, app);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new AuthError(`${app}: OAuth token endpoint ${tokenUrl} answered without an access_token`, app);
    }
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new AuthError(`${app}: OAuth token endpoint issued a ${body.token_type.slice(0, 32)} token; only Bearer is supported`, app);
    }
    // RFC 6749 §5.1: expires_in is RECOMMENDED; without it, assume an hour and rely on 401 refresh.
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    return { value: body.access_token, refreshAt: this.#now() + expiresIn * 1000 - refreshMarginMs(expiresIn) };
  }
}
