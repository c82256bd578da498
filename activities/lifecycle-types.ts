// The shapes the identity workflow and its activities exchange. JSON-plain: they travel through
// Temporal histories.
import type { AccountRef } from '../connectors/contract.js';
import type { ActualAccount, Plan, PlanStep } from '../policy/planner.js';
import type { HrEventType, WorkerSnapshot } from '../schemas/events.js';
import type { Outcome, StepOutcome } from '../schemas/outcomes.js';

export type { ActualAccount, Plan, PlanStep };

/**
 * A change to plan: from an HR event's snapshot, or (a grant, its expiry, a revoke) from the stored
 * one; on `actual`, what the applications reported through their queues (absent in histories from
 * before the planning reads: then planChange reads them itself).
 */
export type PlanChangeInput = {
  employeeId: string;
  changeId: string;
  eventType: HrEventType | ChangeEventType;
  snapshot?: WorkerSnapshot;
  actual?: ActualAccount[];
  /** The person's last applied sequence (-1: none yet): a snapshot too far ahead of it is held (`lifecycle.maxSequenceJump`). */
  appliedSequence?: number;
  /** An operator accepted this snapshot's sequence as the new baseline (`provisioner identity resequence`). */
  acceptSequenceJump?: boolean;
};

/** What a plan reads: the applications whose accounts `readAccount` reads on their own queues. */
export type ApplicationsToRead = { apps: string[]; /** Why the snapshot is held for an operator instead (nothing was stored). */ hold?: string };

/** One application's read of the person's account. */
export type ReadAccountInput = { app: string; employeeId: string; idempotencyKey: string };

/** Changes that come from access requests and their timers rather than from HR. */
export type ChangeEventType = 'itsm.access.requested' | 'itsm.access.revoke.requested' | 'provisioner.grant.expired' | 'provisioner.approval.decided' | 'provisioner.wake.due' | 'provisioner.reevaluation.requested';

/** A plan with the snapshot it was made from (the stored one when the change had none). */
export type PlannedChange = Plan & { snapshot: WorkerSnapshot };

export type ApplyStepInput = {
  employeeId: string;
  changeId: string;
  idempotencyKey: string;
  step: PlanStep;
  policyVersion: string;
  /** The attributes an account is made of (for ensureAccount). */
  snapshot: WorkerSnapshot;
  eventId: string;
};

export type StepResult = {
  outcome: StepOutcome['outcome'];
  account?: AccountRef;
  detail?: string;
  /** ensureAccount took over an existing account without our correlation key (`updated`): a rollback leaves it, it was there before. */
  adopted?: true;
};

/** Undoes what one step of this change did; a no-op when the step changed nothing (the legacy undoStep activity). */
export type UndoStepInput = ApplyStepInput & { result?: StepResult };

export type RecordChangeInput = {
  employeeId: string;
  changeId: string;
  eventId: string;
  sequence: number;
  outcome: Outcome;
  /** False when the change applied nothing (held snapshot, plan waiting for its retry): the person's applied sequence stays. */
  applied?: boolean;
  /** The HR event's time, when the change is an HR event's: time to provision counts from it. */
  eventTime?: string;
};

/** The actor of the audit records the identity workflow's activities write. */
export const IDENTITY_WORKFLOW_ACTOR = { type: 'system' as const, id: 'identity-workflow' };
