// Message definitions shared by the workflows, the ingress, the CLI and the tests.
// Names are permanent once deployed.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PlanStep } from '../policy/planner.js';
import type { HrEventType, WorkerSnapshot } from '../schemas/events.js';
import type { Gate } from '../policy/approval-chain.js';
import type { AccessGranted, AccessRevocationRequested } from './approval-messages.js';
import type { Change } from './identity/state.js';

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
export type ScheduledStep = { changeId: string; eventId: string; sequence: number; step: PlanStep; notBefore: string; /** Failed attempts so far: a failed step is tried again after a backoff. */ attempt?: number };

/** A step waiting for approval: `approvals` are the policy's rules, `approvalIds` the approvals to decide. */
export type GatedStep = { changeId: string; step: PlanStep; approvals: string[]; approvalIds?: string[] };

/** A time-bound grant from an approved access request: the identity workflow revokes it at `expiresAt`. */
export type GrantTimer = { ticketId: string; app: string; entitlementId: string; expiresAt: string };

/**
 * A sensitive birthright step's approval gate, held by the identity workflow. `account`: the
 * application's ensureAccount, held until its first grant is approved (least privilege on hire);
 * `accountEnable`: its enable at a future start, when it is made disabled (prehire).
 */
export type StepGate = { changeId: string; eventId: string; policyVersion: string; step: PlanStep; gate: Gate; account?: PlanStep; accountEnable?: PlanStep };

/** When the person is planned again though nothing arrives (a prehire window opens), and why. */
export type Wake = { at: string; reason: string; changeId: string };

/** Work from access requests and re-evaluations, queued like HR events. */
export type RequestWork = { kind: 'grant'; grant: AccessGranted } | { kind: 'revoke'; revoke: AccessRevocationRequested } | { kind: 'reevaluate'; reevaluation: ReevaluationRequest };

export type IdentityState = {
  employeeId: string;
  lastAppliedSequence: number;
  lastEventType?: HrEventType;
  /** `fence-rejected`: an operator rejected the fence batch (or this person in it) that held the change; until a newer snapshot or `provisioner retry`. `waiting-for-application`: steps wait for a quarantined application. */
  status: 'idle' | 'provisioning' | 'provisioned' | 'deprovisioned' | 'action-required' | 'failed' | 'waiting-for-application' | 'fence-rejected';
  /** The account this person has in each application, by application. */
  accounts: Record<string, { accountId: string }>;
  scheduled: ScheduledStep[];
  awaitingApproval: GatedStep[];
  /** Events recorded and ignored because a newer or equal sequence was already applied. */
  ignoredEvents: Array<{ eventId: string; sequence: number; reason: string }>;
  pendingEvents: number;
  /** Time-bound grants from access requests and when each ends. */
  grants?: GrantTimer[];
  /** Destructive steps held by the fence, waiting for an operator to release or reject their batch. */
  fenceHold?: { batchId: string; steps: string[]; reasons: string[] };
  /** When the person is planned again (Plan.wakeAt), and why. */
  wake?: Wake;
  /** Accounts not made yet: each waits for the first approved grant of its application. */
  accountsAwaitingApproval?: Array<{ app: string; reason: string }>;
  /** A change that could not be planned, tried again at `nextAt`, on the next event or on `provisioner retry`. */
  retry?: RetryView;
  /** An HR snapshot held for an operator (its sequence jumped too far ahead): `provisioner identity resequence` accepts it. */
  held?: HeldView;
  /** Grants refused because the store holds no approvals their policy requires for their ticket (the newest 20 of this run). */
  refusedGrants?: RefusedGrant[];
  /** Quarantined applications the person's change waits for: their steps run once each is released. */
  quarantinedApplications?: string[];
};

/** A grant the identity workflow refused to apply, and why. */
export type RefusedGrant = { ticketId: string; eventId: string; app: string; entitlementId: string; reason: string; at: string };

/** What getState shows of a change waiting for its retry. */
export type RetryView = { changeId: string; eventType: string; sequence: number; attempt: number; nextAt: string; reason: string };

/** What getState shows of a held HR snapshot. */
export type HeldView = { eventId: string; eventType: HrEventType; sequence: number; reason: string };

/** An operator asks the person's workflow to try its failed change again now (API `POST /identities/:employeeId/retry`). */
export type RetryRequest = { operator: string; reason?: string };
export const retryRequested = defineSignal<[RetryRequest]>('retryRequested');

/** An operator accepts the held snapshot as the person's new sequence baseline (after an HRIS renumbering). */
export type ResequenceRequest = { operator: string; reason?: string };
export const resequenceRequested = defineSignal<[ResequenceRequest]>('resequenceRequested');

/**
 * Plan the person again now, from their newest snapshot and what the applications hold: a
 * reconciliation found drift in their accounts, or a new policy version changes what they should
 * have. The change goes through the person's workflow like an HR event's (ordering, approvals, the
 * fence, the saga, the audit); `source` is the feed the fence counts it under (`reconcile/<app>`,
 * `policy/<version>`), `requestId` makes a repeated ask harmless.
 */
export type ReevaluationRequest = { requestId: string; source: string; reason: string };
export const reevaluationRequested = defineSignal<[ReevaluationRequest]>('reevaluationRequested');

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
  grants?: GrantTimer[];
  gates?: StepGate[];
  gateCounter?: number;
  requests?: RequestWork[];
  /** The newest HR snapshot (personal data: it travels encrypted, like the signals that brought it). */
  snapshot?: WorkerSnapshot;
  wake?: Wake;
  /** The status getState showed, so the next run says what the search attribute says. */
  status?: IdentityState['status'];
  /** The change waiting for its retry, with its backoff. */
  retry?: PendingRetry;
  /** The HR event held for an operator. */
  held?: HrEventReceived & { reason: string };
  /** The change waiting for quarantined applications. */
  waiting?: WaitingForApplications;
  /** The change whose fenced steps an operator rejected (status `fence-rejected`): an operator's retry asks again from its source. */
  fenceRejected?: { eventId: string; source: string };
};

/** A change that could not be planned: the change itself (JSON-plain), the attempts so far and when it is tried again. */
export type PendingRetry = {
  change: Change;
  attempt: number;
  nextAt: number;
  reason: string;
  /** The change is an operator's resequence: its retry keeps the jump accepted. */
  acceptSequenceJump?: true;
};

export const identityWorkflowId = (employeeId: string) => `identity/${employeeId}`;

// ---- quarantine of failing applications (workflows/application-quarantine.ts, identity/quarantine.ts) ----

/** The failure type of a step or a read of a quarantined application (activities/quarantine.ts): never retried by Temporal. */
export const APPLICATION_QUARANTINED = 'ApplicationQuarantined';

/**
 * The failure type of a call not made because its application asked, with Retry-After, for no call
 * yet (activities/quarantine.ts): retried by Temporal once the pause has passed (its next retry delay).
 */
export const APPLICATION_PAUSED = 'ApplicationPaused';

/** What that failure carries: the application, its state, and when the workflow asks again. */
export type QuarantinedDetails = { app: string; state: 'quarantined' | 'held'; recheckMs: number };

/** An application a person's change waits for: quarantined, its steps re-planned once it is released. */
export type WaitingForApplications = {
  /** The change whose steps there did not run (re-planned whole once every application is released). */
  change: Change;
  apps: string[];
  /** When the workflow asks the store again, whatever signal arrives (the probe's interval). */
  nextCheckAt: number;
  recheckMs: number;
  attempt: number;
  /** The fence asks the waiting change (and its resumptions) made: a resumed change's steps asked before are answered by their ask again, not counted twice. */
  fenceAsks?: FenceAsk[];
};

/** One fence ask of a change: its request id and the keys of the fenced steps it asked for. */
export type FenceAsk = { requestId: string; steps: string[] };

/** A quarantined application was released (by its probe or an operator): its waiting workflows check now. */
export type ApplicationReleased = { app: string };
export const applicationReleased = defineSignal<[ApplicationReleased]>('applicationReleased');

/** The probe workflow of one quarantined application, `quarantine/<app>`. */
export type ApplicationQuarantineInput = { app: string; probeEveryMs: number };
/** The probe of `app` for the deployment on `taskQueue`: two deployments sharing a namespace each probe their own. */
export const quarantineWorkflowId = (taskQueue: string, app: string) => `quarantine/${taskQueue}/${app}`;
