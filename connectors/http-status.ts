// The one HTTP status → error class table for every HTTP connector.
import { AuthError, InvalidRequestError, TransientError, type ConnectorError } from './errors.js';

/** Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error for a non-2xx answer that the calling verb did not handle itself. */
export function errorForStatus(app: string, status: number, message: string, retryAfter?: number): ConnectorError {
  if (status === 408 || status === 429 || status >= 500) return new TransientError(message, app, retryAfter);
  if (status === 401 || status === 403) return new AuthError(message, app);
  return new InvalidRequestError(message, app);
}
