// The shapes the identity workflow and its activities exchange. JSON-plain: they travel through
// Temporal histories.
import type { AccountRef } from '../connectors/contract.js';
import type { Plan, PlanStep } from '../policy/planner.js';
import type { HrEventType, WorkerSnapshot } from '../schemas/events.js';
import type { Outcome, StepOutcome } from '../schemas/outcomes.js';

export type { Plan, PlanStep };

export type PlanChangeInput = { employeeId: string; changeId: string; eventType: HrEventType; snapshot: WorkerSnapshot };

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
};

/** Undoes what one step of this change did; a no-op when the step changed nothing. */
export type UndoStepInput = ApplyStepInput & { result?: StepResult };

export type RecordChangeInput = {
  employeeId: string;
  changeId: string;
  eventId: string;
  sequence: number;
  outcome: Outcome;
};
