// The connector error taxonomy: one base class with an explicit name and a retryable flag.
// Converted once, at the activity boundary, to a Temporal ApplicationFailure (activities/failures.ts);
// the shared retry layer (retry.ts) reads the same two fields.
export abstract class ConnectorError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    readonly app: string,
    /** The target asked us to wait this long before the next attempt (HTTP Retry-After). */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** 408, 412, 429, 5xx, connection resets, timeouts, LDAP busy/unavailable: try again (after Retry-After when given). */
export class TransientError extends ConnectorError {
  override readonly name = 'TransientError';
  readonly retryable = true;
}

/** 401, 403, LDAP 49/50: credentials are wrong or lack rights; retrying will not help. */
export class AuthError extends ConnectorError {
  override readonly name = 'AuthError';
  readonly retryable = false;
}

/** 400, 409 (unresolved), 422, LDAP syntax and schema errors: the request itself is wrong. */
export class InvalidRequestError extends ConnectorError {
  override readonly name = 'InvalidRequestError';
  readonly retryable = false;
}

/**
 * The account or entitlement a verb names does not exist in the target (HTTP 404, LDAP 32) and
 * the verb cannot be answered from that fact alone (a delete or a revoke can: already-in-state).
 */
export class NotFoundError extends ConnectorError {
  override readonly name = 'NotFoundError';
  readonly retryable = false;
}

/** Should the shared retry layer (or Temporal) try this again? Programmer errors never are. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ConnectorError) return err.retryable;
  return false;
}

/** The classes every protocol's answers map to (HTTP statuses, LDAP result codes). */
export type ErrorClass = 'transient' | 'auth' | 'not-found' | 'invalid';

/** The error for a class: the one place a protocol's classification becomes an error type. */
export function errorOfClass(kind: ErrorClass, message: string, app: string, retryAfterMs?: number): ConnectorError {
  switch (kind) {
    case 'transient':
      return new TransientError(message, app, retryAfterMs);
    case 'auth':
      return new AuthError(message, app);
    case 'not-found':
      return new NotFoundError(message, app);
    case 'invalid':
      return new InvalidRequestError(message, app);
  }
}
