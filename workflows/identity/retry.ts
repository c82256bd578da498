// A change that could not be planned never ends the person's workflow: its outcome says why
// (`action-required` when a person must act: credentials, duplicate accounts, the policy, a person
// unknown to the store; `failed` for the rest) and the change waits for its retry, on the next
// event, on an operator's `provisioner retry <employeeId>`, or after a backoff (exponential,
// capped, carried across continue-as-new). Scheduled steps, gates, grants and fence holds stay.
import { ActivityFailure, ApplicationFailure, condition, TemporalFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { failureMessage } from '../apply-plan.js';
import type { PendingRetry } from '../messages.js';
import { ProvisioningStatus } from '../search-attributes.js';
import { finish } from './outcomes.js';
import { retryView, type Change, type Identity } from './state.js';

/** The backoff between retries: the first after a minute, doubling, at most six hours apart. */
export const RETRY_BACKOFF = { initialMs: 60_000, factor: 2, maxMs: 6 * 3_600_000 } as const;

/** Failure types a person must resolve: retrying alone will not help (though it is still retried, in case they did). */
const NEEDS_A_PERSON = new Set(['AuthError', 'InvalidRequestError', 'NotFoundError', 'UnknownIdentity', 'PolicyDirError', 'ConfigError']);

export function backoffMs(attempt: number): number {
  return Math.min(RETRY_BACKOFF.maxMs, RETRY_BACKOFF.initialMs * RETRY_BACKOFF.factor ** Math.max(0, attempt - 1));
}

/** Whether an error is a failure Temporal reports (an activity's, or one the workflow raised): those are survived; a bug in workflow code fails the task instead, and is retried once fixed. */
export function isSurvivable(err: unknown): boolean {
  return err instanceof TemporalFailure;
}

/** `action-required` when the failure's type says a person must act, else `failed`. */
export function failureStatus(err: unknown): 'action-required' | 'failed' {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && NEEDS_A_PERSON.has(cause.type ?? '') ? 'action-required' : 'failed';
}

/** The change a retry converges: its own change id, so that its outcome is recorded beside the failed attempt's. */
export function retryChange(retry: PendingRetry): Change {
  return { ...retry.change, changeId: `${retry.change.changeId}/retry-${retry.attempt}` };
}

/** How the retry is converged: as a retry, with an operator's accepted sequence jump kept. */
export function retryOptions(retry: PendingRetry): { retrying: PendingRetry; acceptSequenceJump?: boolean } {
  return { retrying: retry, ...(retry.acceptSequenceJump ? { acceptSequenceJump: true } : {}) };
}

/**
 * The change could not be planned: it waits for its retry (an HR change is kept over a grant's or
 * an expiry's: its plan covers theirs), and its outcome says why and when it is tried again.
 */
export async function planningFailed(id: Identity, change: Change, err: unknown, retrying: PendingRetry | undefined, acceptSequenceJump = false): Promise<void> {
  const { employeeId, state } = id;
  const status = failureStatus(err);
  const cause = failureMessage(err);
  const attempt = (retrying?.attempt ?? 0) + 1;
  const nextAt = Date.now() + backoffMs(attempt);
  const keepHr = id.retry?.change.snapshot !== undefined && change.snapshot === undefined;
  const accepted = keepHr ? id.retry!.acceptSequenceJump : (retrying?.acceptSequenceJump ?? (acceptSequenceJump || undefined));
  id.retry = { change: keepHr ? id.retry!.change : (retrying?.change ?? change), attempt, nextAt, reason: cause, ...(accepted ? { acceptSequenceJump: true as const } : {}) };
  state.retry = retryView(id.retry);
  state.status = status;
  const reason = `the change could not be made: ${cause}. Its steps are idempotent; it is planned again at ${new Date(nextAt).toISOString()}, on the person's next event, or now with \`provisioner retry ${employeeId}\``;
  await finish(id, change, { status, policyVersion: 'n/a', steps: [], reason: reason.slice(0, 2000) }, { applied: false });
}

/** The change was held (an absurd sequence): a retry of it is over, the hold is the operator's now. */
export function heldInstead(id: Identity, change: Change): void {
  if (id.retry?.change.eventId !== change.eventId) return;
  id.retry = undefined;
  delete id.state.retry;
}

/** A plan was made: the retry it covers is done (an HR change's only by one as new as it). */
export function planned(id: Identity, change: Change): void {
  const waiting = id.retry?.change;
  if (!waiting) return;
  if (waiting.snapshot !== undefined && (change.snapshot === undefined || change.sequence < waiting.sequence)) return;
  id.retry = undefined;
  delete id.state.retry;
}

/** The sequence an HR event must exceed to be converged: the applied one, or the one waiting for its retry. */
export function sequenceBaseline(id: Identity): number {
  const waiting = id.retry?.change;
  return waiting?.snapshot ? Math.max(id.state.lastAppliedSequence, waiting.sequence) : id.state.lastAppliedSequence;
}

/**
 * A failure outside a change's planning (recording approval events, a request's bookkeeping):
 * the person is shown `failed` with the reason and the loop waits its backoff (or an operator's
 * retry, or a new event) before it takes its work again.
 */
export async function stalled(id: Identity, err: unknown, attempt: number): Promise<void> {
  const { state } = id;
  const wait = backoffMs(attempt);
  state.status = 'failed';
  state.retry = { changeId: 'workflow', eventType: 'n/a', sequence: state.lastAppliedSequence, attempt, nextAt: new Date(Date.now() + wait).toISOString(), reason: failureMessage(err).slice(0, 2000) };
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'failed' }]);
  await condition(() => id.retryRequested || id.pending.length > 0, wait);
  id.retryRequested = false;
  if (id.retry) state.retry = retryView(id.retry);
  else delete state.retry;
}
