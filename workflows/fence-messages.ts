// Messages of the fence (docs/architecture.md#fence), shared by the fence workflow, the identity
// workflow, the activity that asks for permits, the CLI and the tests. Names are permanent.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FencedAction } from '../schemas/policy.js';

/** One fence per deployment (per base task queue): `fence/<taskQueue>`. */
export const fenceWorkflowId = (taskQueue: string) => `fence/${taskQueue}`;

/** A destructive step as the fence sees it: what it would change, never names or e-mails. */
export type FencedStep = { key: string; app: string; action: FencedAction; entitlementId?: string };

/** The counting scope of a limit: `source|<feed>|<action>` or `app|<app>|<action>`. */
export const scopeKey = (scope: 'source' | 'app', name: string, action: FencedAction) => `${scope}|${name}|${action}`;

export type PermitRequest = {
  /** Stable per change (`${workflowId}/${changeId}`): a retried ask gets the same answer. */
  requestId: string;
  workflowId: string;
  employeeId: string;
  /** The HR event's `source` (the feed). */
  source: string;
  /**
   * The source budget the steps count against (policy/fencing.ts fenceBudget): the source itself when
   * the policy names it, else its family or `default`. Absent (older requests): the source.
   */
  budget?: string;
  steps: FencedStep[];
  /** Computed by the asking activity from the policy in force: max steps per scope key in the window (absent: no limit). */
  limits: Record<string, number>;
  windowMs: number;
  /** Operators who must release a batch this request joins. */
  releasesRequired: number;
};

export type PermitAnswer = { permit: 'allowed' } | { permit: 'held'; batchId: string; reasons: string[] };

export type BatchDecision = { batchId: string; operator: string };

export type FenceDecision = { batchId: string; decision: 'released' | 'rejected'; operators: string[] };

/** A held request: who (employee id only) and what it would change. */
export type HeldRequest = { requestId: string; batchId: string; workflowId: string; employeeId: string; source: string; budget?: string; steps: FencedStep[]; heldAt: string };

export type FenceBatch = {
  batchId: string;
  status: 'open' | 'released' | 'rejected';
  openedAt: string;
  /** The thresholds that tripped, in words. */
  reasons: string[];
  releasesRequired: number;
  releasedBy: string[];
  decidedBy?: string[];
  decidedAt?: string;
  /** Requests (people) in the batch; steps are listed in `held` while open. */
  requests: number;
};

export type FenceState = {
  windowMs: number;
  /** Destructive steps let through in the current window, per scope key. */
  inWindow: Record<string, number>;
  held: HeldRequest[];
  batches: FenceBatch[];
};

/** Asked by the identity workflows (through the requestFencePermit activity, update-with-start). */
export const requestPermit = defineUpdate<PermitAnswer, [PermitRequest]>('requestPermit');
export const releaseBatch = defineUpdate<FenceBatch, [BatchDecision]>('releaseBatch');
export const rejectBatch = defineUpdate<FenceBatch, [BatchDecision]>('rejectBatch');
/** A held request that no longer needs its permit (its change was superseded by a termination). */
export const permitWithdrawn = defineSignal<[{ requestId: string }]>('permitWithdrawn');
export const getFenceState = defineQuery<FenceState>('getFenceState');

/** Sent by the fence to each held identity workflow when its batch is decided. */
export const fenceDecision = defineSignal<[FenceDecision]>('fenceDecision');
