// What the conformance kit and the connector tests drive connectors with: a person to ensure, call
// contexts, and the activity retry simulated by the shared retry layer (../retry.ts), so a connector
// is exercised the way Temporal runs it: each attempt starts from scratch, transient errors are
// retried after at least Retry-After.
import { randomBytes } from 'node:crypto';
import type { CallContext, EnsureAccountRequest } from '../contract.js';
import { withRetries, type RetryEvent, type RetryPolicy } from '../retry.js';

/** The request for a test person; the e-mail is made from the employee id. */
export const person = (employeeId: string, userName: string, extra: Partial<EnsureAccountRequest> = {}): EnsureAccountRequest => ({
  employeeId,
  userName,
  givenName: 'Test',
  familyName: 'Person',
  email: `${employeeId.replace(/[^A-Za-z0-9]/g, '') || 'x'}@example.com`,
  active: true,
  ...extra,
});

export function callContext(label = 'conformance'): CallContext {
  const key = `${label}/${randomBytes(6).toString('hex')}`;
  return { idempotencyKey: key, correlationId: key, signal: new AbortController().signal };
}

export type Attempted<T> = { result: T; attempts: number; retries: RetryEvent[] };

/** Runs one step like an activity with retries: a fresh call context per attempt. */
export async function asActivity<T>(step: (call: CallContext) => Promise<T>, policy: Partial<RetryPolicy> = {}): Promise<Attempted<T>> {
  const retries: RetryEvent[] = [];
  let attempts = 0;
  const key = `activity/${randomBytes(6).toString('hex')}`;
  const result = await withRetries(
    (attempt) => {
      attempts = attempt;
      return step({ idempotencyKey: key, correlationId: `${key}#${attempt}`, signal: new AbortController().signal });
    },
    { maxAttempts: 12, initialDelayMs: 50, maxDelayMs: 5_000, ...policy, onRetry: (e) => retries.push(e) },
  );
  return { result, attempts, retries };
}
