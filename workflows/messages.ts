// Message definitions shared by the workflows, the ingress, the CLI and the tests.
// Names are permanent once deployed.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PlanStep } from '../policy/planner.js';
import type { HrEventType, WorkerSnapshot } from '../schemas/events.js';

/** An HR event as the identity workflow receives it: the envelope fields it needs and the snapshot. */
export type HrEventReceived = {
  eventId: string;
  type: HrEventType;
  source: string;
  time: string;
  snapshot: WorkerSnapshot;
};

export const hrEventReceived = defineSignal<[HrEventReceived]>('hrEventReceived');

/** A step waiting for its time: a mover's lost access after the grace period, a leaver's deletion. */
export type ScheduledStep = { changeId: string; eventId: string; sequence: number; step: PlanStep; notBefore: string };

/** A step waiting for approval (the approvals issue decides them by approvalId). */
export type GatedStep = { changeId: string; step: PlanStep; approvals: string[] };

export type IdentityState = {
  employeeId: string;
  lastAppliedSequence: number;
  lastEventType?: HrEventType;
  status: 'idle' | 'provisioning' | 'provisioned' | 'deprovisioned' | 'action-required' | 'failed';
  /** The account this person has in each application, by application. */
  accounts: Record<string, { accountId: string }>;
  scheduled: ScheduledStep[];
  awaitingApproval: GatedStep[];
  /** Events recorded and ignored because a newer or equal sequence was already applied. */
  ignoredEvents: Array<{ eventId: string; sequence: number; reason: string }>;
  pendingEvents: number;
  /** Destructive steps held by the fence, waiting for an operator to release or reject their batch. */
  fenceHold?: { batchId: string; steps: string[]; reasons: string[] };
};

export const getState = defineQuery<IdentityState>('getState');

/** The identity workflow's input (object parameters, never positional). */
export type IdentityLifecycleInput = { employeeId: string; carried?: CarriedState };

/** JSON-plain state carried across continue-as-new. */
export type CarriedState = {
  lastAppliedSequence: number;
  lastEventType?: HrEventType;
  accounts: IdentityState['accounts'];
  scheduled: ScheduledStep[];
  awaitingApproval: GatedStep[];
  recentEventIds: string[];
  pending: HrEventReceived[];
};

export const identityWorkflowId = (employeeId: string) => `identity/${employeeId}`;
