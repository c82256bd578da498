// The one retry policy for connector calls. In production Temporal's activity retry does the
// retrying: a connector throws, the activity boundary (activities/failures.ts) turns
// `retryAfterMs` into `nextRetryDelay`, and Temporal waits. Outside Temporal (the conformance kit's
// harness, the CLI, benchmarks) `withRetries` does the same thing in process: exponential backoff,
// never shorter than the target's Retry-After, only for errors marked retryable.
import { isRetryable, type ConnectorError } from './errors.js';

export type RetryPolicy = {
  /** Attempts in all, the first included. Default 8. */
  maxAttempts: number;
  /** Delay after the first failure. Default 100 ms. */
  initialDelayMs: number;
  backoffCoefficient: number;
  maxDelayMs: number;
};

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, initialDelayMs: 100, backoffCoefficient: 2, maxDelayMs: 10_000 };

export type RetryEvent = { attempt: number; delayMs: number; error: unknown; retryAfterMs: number | undefined };

export type RetryOptions = Partial<RetryPolicy> & {
  signal?: AbortSignal;
  /** Called before each wait: tests assert on it, callers log with it. */
  onRetry?: (event: RetryEvent) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

/**
 * How long to wait before attempt `attempt + 1` after `error` failed attempt `attempt` (1-based):
 * the backoff, but never less than the Retry-After the target sent (RFC 9110 §10.2.3).
 */
export function retryDelayMs(error: unknown, attempt: number, policy: RetryPolicy = defaultRetryPolicy): number {
  const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffCoefficient ** Math.max(0, attempt - 1));
  const retryAfter = (error as Partial<ConnectorError> | undefined)?.retryAfterMs;
  return typeof retryAfter === 'number' ? Math.max(backoff, retryAfter) : backoff;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, fails with an error that is not retryable, or runs out of attempts. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? defaultRetryPolicy.maxAttempts,
    initialDelayMs: options.initialDelayMs ?? defaultRetryPolicy.initialDelayMs,
    backoffCoefficient: options.backoffCoefficient ?? defaultRetryPolicy.backoffCoefficient,
    maxDelayMs: options.maxDelayMs ?? defaultRetryPolicy.maxDelayMs,
  };
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.maxAttempts || options.signal?.aborted) throw error;
      const delayMs = retryDelayMs(error, attempt, policy);
      options.onRetry?.({ attempt, delayMs, error, retryAfterMs: (error as ConnectorError).retryAfterMs });
      await wait(delayMs, options.signal);
    }
  }
}
