// The fence's data (docs/architecture.md#fence), shared by the store that counts and holds, the
// identity workflow and every other asker (reconciliation, policy rollout), the API and the CLI.
// Names only employee ids and what a step would change, never names or e-mails.
import type { FencedAction } from './policy.js';

/** A fenced step as the fence sees it: what it would change. */
export type FencedStep = { key: string; app: string; action: FencedAction; entitlementId?: string };

/** The counting scope of a limit: `source|<budget>|<action>` or `app|<app>|<action>`. */
export const scopeKey = (scope: 'source' | 'app', name: string, action: FencedAction) => `${scope}|${name}|${action}`;

export type PermitRequest = {
  /** Stable per change (`${workflowId}/${changeId}`): a retried ask gets the same answer. */
  requestId: string;
  /** The workflow that waits for the decision (`fenceDecision` signal) when held. */
  workflowId: string;
  employeeId: string;
  /** Who asks: the HR event's `source` (the feed), `reconcile/<app>`, `policy/<version>`. */
  source: string;
  steps: FencedStep[];
  /** Computed by the asking activity from the policy in force: max steps per scope key in the window (absent: no limit). */
  limits: Record<string, number>;
  windowMs: number;
  /** Operators who must release a batch this request joins. */
  releasesRequired: number;
};

export type PermitAnswer =
  | { permit: 'allowed' }
  /** `recheckMs`: how often the held workflow reads its decision from the store (a lost `fenceDecision` signal never holds it forever); set by the asking activity, not stored. */
  | { permit: 'held'; batchId: string; reasons: string[]; recheckMs?: number };

export type BatchDecision = { batchId: string; operator: string };

/** `requestId`: the held ask it decides (the store's fence names it; the retired fence workflow's decisions did not). */
export type FenceDecision = { batchId: string; decision: 'released' | 'rejected'; operators: string[]; requestId?: string };

/** A held request: who (employee id only) and what it would change. */
export type HeldRequest = {
  requestId: string;
  batchId: string;
  workflowId: string;
  employeeId: string;
  source: string;
  steps: FencedStep[];
  heldAt: string;
  /** Operators who released this person alone so far (a batch's releases count for everyone in it). */
  releasedBy?: string[];
};

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
  /** Requests (people) in the batch: while open, those still held. */
  requests: number;
};

export type FenceState = {
  windowMs: number;
  /** Fenced steps let through in the current window, per scope key. */
  inWindow: Record<string, number>;
  held: HeldRequest[];
  batches: FenceBatch[];
  /** Held requests not listed in `held` (a listing is capped). */
  notListed?: number;
};
