// The undo of a planned step, for a saga's compensation: pure, so the identity workflow computes
// it deterministically and the legacy `undoStep` activity (histories from before the named
// connector activities) computes the same.
import type { AccountRef } from '../connectors/contract.js';
import type { PlanStep, StepAction } from './planner.js';

const INVERSE: Record<StepAction, StepAction | undefined> = {
  // Decided per step below: an account this change created is deleted, one that existed before is left as it was.
  ensureAccount: 'deleteAccount',
  enableAccount: 'disableAccount',
  // The update back to the values the application had (`from` and `to` swapped).
  updateAccount: 'updateAccount',
  disableAccount: 'enableAccount',
  grant: 'revoke',
  revoke: 'grant',
  // A deleted account cannot be brought back.
  deleteAccount: undefined,
};

export type Undo =
  /** Nothing to undo (with the outcome the undo reports). */
  | { kind: 'nothing'; outcome: 'unchanged' | 'already-in-state'; detail: string }
  /** The step created an account whose reference is unknown (it failed or timed out): read it first, then ask again. */
  | { kind: 'read-account' }
  /** The step that undoes it. */
  | { kind: 'step'; step: PlanStep };

/**
 * What undoes `step`. `account` is the account the step reported (its result), or what a read
 * found after `read-account`: an account, or null when the application has none.
 */
export function undoOf(step: PlanStep, account?: AccountRef | null): Undo {
  const action = step.action === 'ensureAccount' && step.account ? undefined : INVERSE[step.action];
  if (!action) return { kind: 'nothing', outcome: 'unchanged', detail: `${step.action} is not undone` };
  if (step.action === 'updateAccount' && step.actionRequired !== undefined) return { kind: 'nothing', outcome: 'unchanged', detail: 'nothing was called' };
  const known = step.account ?? account ?? undefined;
  if (!known && step.action === 'ensureAccount') {
    return account === null ? { kind: 'nothing', outcome: 'already-in-state', detail: 'no account was created' } : { kind: 'read-account' };
  }
  const back = step.action === 'updateAccount' && step.attributes ? { attributes: Object.fromEntries(Object.entries(step.attributes).map(([name, c]) => [name, { from: c.to, to: c.from }])) } : {};
  return { kind: 'step', step: { ...step, key: `undo/${step.key}`, action, reason: `undo: ${step.reason}`, ...(known ? { account: known } : {}), ...back } };
}

/** The idempotency key of a step's undo (and of the read before it). */
export const undoKey = (idempotencyKey: string): string => `${idempotencyKey}/undo`;
