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
