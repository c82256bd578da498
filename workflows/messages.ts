// Message definitions shared by the workflows, the ingress, the CLI and the tests.
// Names are permanent once deployed.
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

export type AccountState = { app: string; accountId: string; status: 'active' | 'action-required' };

export type IdentityState = {
  employeeId: string;
  lastAppliedSequence: number;
  lastEventType?: HrEventType;
  status: 'idle' | 'provisioning' | 'provisioned' | 'action-required' | 'failed';
  accounts: AccountState[];
  /** Events recorded and ignored because a newer or equal sequence was already applied. */
  ignoredEvents: Array<{ eventId: string; sequence: number; reason: string }>;
  pendingEvents: number;
};

export const getState = defineQuery<IdentityState>('getState');

/** The identity workflow's input (object parameters, never positional). */
export type IdentityLifecycleInput = { employeeId: string; carried?: CarriedState };

/** JSON-plain state carried across continue-as-new. */
export type CarriedState = {
  lastAppliedSequence: number;
  lastEventType?: HrEventType;
  accounts: AccountState[];
  recentEventIds: string[];
  pending: HrEventReceived[];
};

export const identityWorkflowId = (employeeId: string) => `identity/${employeeId}`;
