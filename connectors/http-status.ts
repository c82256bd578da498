// The one HTTP status → error class table for every HTTP connector. A verb handles the statuses
// that mean something for it first (SCIM create: 409 uniqueness → read and converge; revoke: 400
// noTarget → already-in-state; delete: 404 → already-in-state); whatever it does not handle is
// classified here, the same way for every verb and every connector.
import { label, metrics } from '../observability/metrics.js';
import { errorOfClass, type ConnectorError, type ErrorClass } from './errors.js';

export type StatusClass = ErrorClass;

/** Rows are tried in order; the first whose range holds the status decides. */
export const HTTP_STATUS_TABLE: ReadonlyArray<{ from: number; to: number; class: StatusClass; why: string }> = [
  { from: 401, to: 401, class: 'auth', why: 'credentials missing, wrong or expired (a client refreshes an OAuth token once before giving up)' },
  { from: 403, to: 403, class: 'auth', why: 'authenticated but not allowed' },
  { from: 404, to: 404, class: 'not-found', why: 'the resource named does not exist' },
  { from: 408, to: 408, class: 'transient', why: 'request timeout' },
  { from: 412, to: 412, class: 'transient', why: 'If-Match failed: someone changed the resource; the next attempt re-reads it' },
  { from: 425, to: 425, class: 'transient', why: 'too early' },
  { from: 429, to: 429, class: 'transient', why: 'rate limited; wait at least Retry-After' },
  { from: 501, to: 501, class: 'invalid', why: 'not implemented: retrying will not make it so' },
  { from: 505, to: 505, class: 'invalid', why: 'HTTP version not supported' },
  { from: 500, to: 599, class: 'transient', why: 'server error' },
  { from: 400, to: 499, class: 'invalid', why: 'the request is wrong (400, 409 left unresolved by the verb, 413, 422, ...)' },
  { from: 0, to: 999, class: 'invalid', why: 'an answer a client does not expect (1xx, 3xx)' },
];

export function classifyStatus(status: number): StatusClass {
  return HTTP_STATUS_TABLE.find((row) => status >= row.from && status <= row.to)?.class ?? 'invalid';
}

/** Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[A-Za-z]/.test(trimmed)) return undefined; // neither delay-seconds nor an HTTP-date
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The Retry-After a connector waits for: what the answer asked, cut to `capMs` (the app's maxRetryAfterMs) when one is set. */
export function honouredRetryAfterMs(header: string | null | undefined, capMs: number | undefined): number | undefined {
  const asked = retryAfterMs(header);
  return asked !== undefined && capMs !== undefined ? Math.min(asked, capMs) : asked;
}

/** The error for a non-2xx answer that the calling verb did not handle itself. */
export function errorForStatus(app: string, status: number, message: string, retryAfter?: number): ConnectorError {
  if (status === 429) metrics.rateLimited.inc({ app: label(app) });
  return errorOfClass(classifyStatus(status), message, app, retryAfter);
}
