// The SCIM transport: one HTTP exchange with a timeout and the call's abort signal, the bearer
// token (static or OAuth2 client credentials) in the Authorization header and one more try on a
// 401 with a fresh token, the answer's JSON parsed and validated at the boundary, and errors a verb
// did not handle mapped by the one status table (../http-status.ts). Secrets never reach a message
// or a log line; requests are logged at debug as method, path (no query), status and duration.
// Each exchange is a client span (`PUT /Users/{id}`: the route template, never the ids) whose
// trace context goes to the app in the `traceparent` header.
// Requests go through undici's fetch, over the app's own CA when it has one (./tls.ts).
import type { Logger } from 'pino';
import { fetch, type Response } from 'undici';
import { z } from 'zod';
import type { CallContext } from '../contract.js';
import { redactSecrets } from '../credentials.js';
import { AuthError, InvalidRequestError, TransientError, type ConnectorError } from '../errors.js';
import { errorForStatus, honouredRetryAfterMs } from '../http-status.js';
import { readBoundedText, ResponseTooLarge } from './bounded-body.js';
import { OAuthClientCredentials } from './oauth.js';
import { scimErrorSchema } from './resources.js';
import { certificateProblem, tlsDispatcher, type DispatcherSource, type TlsDispatcher, type TlsOptions } from './tls.js';
import { failedAnswer, inClientSpan, traceHeaders } from '../../observability/tracing/client-span.js';

export type ScimAuthOptions =
  | { kind: 'bearer'; /** Read on every call, so a rotated token is picked up without a restart. */ token: () => string }
  | {
      kind: 'oauth2';
      tokenUrl: string;
      clientId: string;
      clientSecret: () => string;
      scope?: string;
      clientAuthentication?: 'basic' | 'body';
    };

/** An answer as it came: status, headers, the body's text and its JSON (undefined when it is none). */
export type Answer = { status: number; headers: Pick<Headers, 'get'>; text: string; json: unknown };

type AuthSource = {
  token(signal: AbortSignal): Promise<string>;
  /** The app refused `token`: is another attempt with a fresh one worth it? */
  refused(token: string): boolean;
  secrets(): string[];
};

function authSource(app: string, auth: ScimAuthOptions, limits: { timeoutMs: number; maxResponseBytes: number; maxRetryAfterMs?: number | undefined }, tls: { dispatcher: DispatcherSource; options?: TlsOptions | undefined }): AuthSource {
  if (auth.kind === 'bearer') {
    const read = auth.token;
    return {
      token: async () => read(),
      // A token rotated while the request was in flight is worth one more try; the same token is not.
      refused: (token) => {
        try {
          return read() !== token;
        } catch {
          return false;
        }
      },
      secrets: () => {
        try {
          return [read()];
        } catch {
          return [];
        }
      },
    };
  }
  const oauth = new OAuthClientCredentials({ app, ...limits, ...auth, tls });
  return {
    token: (signal) => oauth.token(signal),
    refused: (token) => {
      oauth.invalidate(token);
      return true;
    },
    secrets: () => oauth.secrets(),
  };
}

/**
 * A request path as a route template for spans: the endpoint (`/Users`, `/Groups`, `/Schemas`, the
 * `.search` verb) kept, every other segment (a resource id) `{id}`: `/Users/2819c223` → `/Users/{id}`.
 */
export function scimRoute(path: string): string {
  const segments = path.split('?')[0]!.split('/').filter((s) => s !== '');
  return `/${segments.map((s, i) => ((i === 0 && /^[A-Za-z]+$/.test(s)) || s === '.search' ? s : '{id}')).join('/')}`;
}

/** The error's code, for messages: ECONNRESET, UND_ERR_SOCKET, ... */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message.slice(0, 120);
  return (err as Error).message?.slice(0, 120) ?? 'unknown error';
}

export type ScimHttpOptions = {
  app: string;
  /** The SCIM base URL (RFC 7644 §3.1), without a trailing slash. */
  baseUrl: string;
  auth: ScimAuthOptions;
  /** Per HTTP request, token requests included. */
  timeoutMs: number;
  /** The CA bundle this app's certificate is verified against; the system's CAs when absent. */
  tls?: TlsOptions | undefined;
  /** The largest answer read (bounded-body.ts), token answers included. */
  maxResponseBytes: number;
  /** The longest Retry-After honoured (a longer one is cut to this); undefined: all of it. */
  maxRetryAfterMs?: number | undefined;
  log?: Logger | undefined;
};

export class ScimHttp {
  readonly app: string;
  private readonly auth: AuthSource;
  private readonly tls: TlsDispatcher;
  /** The app's host and port, for spans (server.address, server.port). */
  private readonly server: { 'server.address': string; 'server.port': number };

  constructor(private readonly options: ScimHttpOptions) {
    this.app = options.app;
    const url = new URL(options.baseUrl);
    this.server = { 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    this.tls = tlsDispatcher(options.tls);
    this.auth = authSource(options.app, options.auth, { timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes, maxRetryAfterMs: options.maxRetryAfterMs }, { dispatcher: this.tls.current, options: options.tls });
  }

  /** Closes the connections of the app's own TLS Agent, if it has one. */
  close(): Promise<void> {
    return this.tls.close();
  }

  /**
   * Sends one request and reads the whole answer. A network failure or a timeout is a
   * TransientError (the write may or may not have happened: the next attempt reads first); any
   * status is returned for the verb to decide, after one more try on a 401 with a fresh token.
   */
  async send(method: string, path: string, call: CallContext, init: { body?: unknown; headers?: Record<string, string>; what: string }, retried = false): Promise<Answer> {
    const route = scimRoute(path);
    const attributes = { 'http.request.method': method, 'url.template': route, ...this.server, 'provisioner.app': this.app };
    const answer = await inClientSpan(`${method} ${route}`, attributes, async (span) => {
      const res = await this.exchange(method, path, call, init);
      span.setAttribute('http.response.status_code', res.answer.status);
      // HTTP client conventions: a 4xx or 5xx answer is the span's error, its class the status code.
      if (res.answer.status >= 400) failedAnswer(span, String(res.answer.status));
      return res;
    });
    if (answer.answer.status === 401 && !retried && this.auth.refused(answer.token)) return this.send(method, path, call, init, true);
    return answer.answer;
  }

  /** One exchange: the token, the request (with the trace context), the whole answer read. */
  private async exchange(method: string, path: string, call: CallContext, init: { body?: unknown; headers?: Record<string, string>; what: string }): Promise<{ answer: Answer; token: string }> {
    const { app, baseUrl, timeoutMs, log } = this.options;
    const bare = path.split('?')[0]!;
    const started = performance.now();
    const token = await this.auth.token(call.signal);
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    const dispatcher = this.tls.current();
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        ...(dispatcher ? { dispatcher } : {}),
        signal: AbortSignal.any([call.signal, timeout]),
        headers: {
          accept: 'application/scim+json, application/json',
          authorization: `Bearer ${token}`,
          'x-correlation-id': call.correlationId,
          ...traceHeaders(),
          ...(init.body === undefined ? {} : { 'content-type': 'application/scim+json' }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      text = await readBoundedText(res, this.options.maxResponseBytes);
    } catch (err) {
      if (call.signal.aborted) throw call.signal.reason ?? err;
      if (err instanceof ResponseTooLarge) {
        throw new InvalidRequestError(`${app}: ${init.what}: ${method} ${bare}: ${err.message}; raise maxResponseBytes in the app's connector config if its answers are legitimately this large`, app);
      }
      // A certificate we cannot verify is not the app being down: another attempt would fail alike.
      const untrusted = certificateProblem(err, this.options.tls);
      if (untrusted) throw new AuthError(this.redact(`${app}: ${init.what}: ${method} ${bare}: ${untrusted}`), app);
      // Connection refused or reset, a timeout, an answer that never came: the write may or may
      // not have happened, which the next attempt resolves by reading by externalId first.
      const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : `failed (${networkReason(err)})`;
      log?.debug({ method, path: bare, error: why, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'SCIM request failed');
      throw new TransientError(this.redact(`${app}: ${init.what}: ${method} ${bare} ${why}`), app);
    }
    log?.debug({ method, path: bare, status: res.status, ms: Math.round(performance.now() - started), correlationId: call.correlationId }, 'SCIM request');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { answer: { status: res.status, headers: res.headers, text, json }, token };
  }

  /** The answer's body as `schema` says it must be; a malformed one is an InvalidRequestError. */
  parse<T extends z.ZodType>(res: Answer, schema: T, what: string): z.infer<T> {
    const parsed = schema.safeParse(res.json);
    if (!parsed.success) throw new InvalidRequestError(`${this.app} answered a malformed ${what} (HTTP ${res.status}): ${z.prettifyError(parsed.error).slice(0, 300)}`, this.app);
    return parsed.data;
  }

  /** The scimType of an error answer (RFC 7644 §3.12), if it has one. */
  scimType(res: Answer): string | undefined {
    const parsed = scimErrorSchema.safeParse(res.json);
    return parsed.success ? parsed.data.scimType : undefined;
  }

  /** `scimType: detail` of an error answer, short and redacted, for messages. */
  errorDetail(res: Answer): string | undefined {
    const parsed = scimErrorSchema.safeParse(res.json);
    if (!parsed.success) return undefined;
    const parts = [parsed.data.scimType, parsed.data.detail].filter((p): p is string => !!p);
    return parts.length ? this.redact(parts.join(': ').slice(0, 300)) : undefined;
  }

  /** The error for an answer the verb did not handle, by the one status table. */
  fail(res: Answer, what: string): ConnectorError {
    const detail = this.errorDetail(res) ?? this.redact(res.text.slice(0, 200));
    const retryAfter = honouredRetryAfterMs(res.headers.get('retry-after'), this.options.maxRetryAfterMs);
    return errorForStatus(this.app, res.status, this.redact(`${this.app}: ${what} answered ${res.status}${detail ? ` (${detail})` : ''}`), retryAfter);
  }

  private redact(text: string): string {
    return redactSecrets(text, this.auth.secrets());
  }
}
