// The connector error taxonomy: one base class with an explicit name and a retryable flag.
// Converted once, at the activity boundary, to a Temporal ApplicationFailure.
export abstract class ConnectorError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    readonly app: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** 408, 429, 5xx, connection resets and timeouts: try again (after Retry-After when given). */
export class TransientError extends ConnectorError {
  override readonly name = 'TransientError';
  readonly retryable = true;
}

/** 401, 403: credentials are wrong or lack rights; retrying will not help. */
export class AuthError extends ConnectorError {
  override readonly name = 'AuthError';
  readonly retryable = false;
}

/** 400, 404, 409 (unresolved), 412, 422: the request itself is wrong. */
export class InvalidRequestError extends ConnectorError {
  override readonly name = 'InvalidRequestError';
  readonly retryable = false;
}
