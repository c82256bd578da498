// The one place a connector error becomes a Temporal failure (STYLE.md "Errors").
import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError } from '../connectors/errors.js';
import { label, metrics } from '../observability/metrics.js';

export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ConnectorError) {
    // Temporal waits what the application asked for before the next attempt.
    if (err.retryable && err.retryAfterMs !== undefined) metrics.retryAfterWaits.observe({ app: label(err.app) }, err.retryAfterMs / 1000);
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: !err.retryable,
      ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
      details: [{ app: err.app }],
    });
  }
  // Programmer errors are never retried.
  if (err instanceof TypeError || err instanceof RangeError) {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true });
  }
  return err;
}

/** Runs a connector call and converts its errors at the activity boundary. */
export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}
