// Stubbed activities for tests that run the real workflows without servers behind them: the only
// place in the tests that knows the activities' names. A test scripts what the plan says, which
// step fails, what approvals a step needs, what an access request's assessment says and whether
// the fence holds; every call is recorded in order, with the server's (skipped) time.
//
// Both generations of the connector calls are served, because both are in histories: `applyStep`
// (every verb through one activity) and `undoStep`, and the named verbs (`ensureAccount`,
// `enableAccount`, `disableAccount`, `deleteAccount`, `grant`, `revoke`) with `readAccount`,
// `preparePlan` and `listApplicationsToRead` for the planning and assessment reads. A small fake directory keeps what the verbs did, so
// `readAccount` answers as an application would.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Activities } from '../../activities/index.js';
import type { ApplyStepInput, PlanChangeInput, PlannedChange, PlanStep, RecordChangeInput, StepResult, UndoStepInput } from '../../activities/lifecycle-types.js';
import type { ActualAccount, StepAction } from '../../policy/planner.js';
import type { WorkerSnapshot } from '../../schemas/events.js';
import type { Outcome } from '../../schemas/outcomes.js';
import { sequenceJumpHold } from '../../policy/sequence-jump.js';
import { permitWithdrawn, requestPermit, type FenceDecision, type PermitAnswer, type PermitRequest } from '../../workflows/fence-messages.js';
import { APPLICATION_QUARANTINED } from '../../workflows/messages.js';

type Input<K extends keyof Activities> = Parameters<Activities[K]>[0];
type Output<K extends keyof Activities> = Awaited<ReturnType<Activities[K]>>;
export type ChainSpec = Output<'resolveApprovalChains'>[string][number];
export type ApprovalEvent = Input<'recordApprovalEvents'>['events'][number];
export type RequestAssessment = Output<'assessAccessRequest'>;
export type AccessRequestInput = Input<'assessAccessRequest'>;
type FencePermitInput = Input<'requestFencePermit'>;

/** One activity call: what was called, where, for which step, at the server's time. */
export type Call = {
  activity: string;
  taskQueue: string;
  /** Workflow time when the call was scheduled (skipped time included). */
  at: number;
  /** Connector calls: a step, its undo, or a read. */
  kind?: 'step' | 'undo' | 'read';
  app?: string;
  action?: StepAction;
  entitlementId?: string;
  /** The planned step's key (for an undo: the key of the step it undoes). */
  key?: string;
};

export type StubScript = {
  /** The applications a plan or an assessment reads. */
  apps?: string[];
  /** The plan of a change; `now` is the server's time (scheduled steps count from it). With a wake time: an object. */
  plan?: (input: PlanChangeInput, now: number) => PlanStep[] | { steps: PlanStep[]; wakeAt?: string; wakeReason?: string };
  /** A step whose connector call fails for good (InvalidRequestError, not retried). */
  fails?: (step: PlanStep) => boolean;
  /** A step whose first attempt takes effect but whose answer is lost (a retryable failure after the change): the retry finds it made. */
  losesAnswer?: (step: PlanStep) => boolean;
  /** An ensureAccount that takes over an account the person had before (`updated`, adopted). */
  adopts?: (step: PlanStep) => boolean;
  /** The approval chains of a sensitive birthright step (`resolveApprovalChains`). */
  chains?: (step: { key: string; entitlement: string; rules: string[] }) => ChainSpec[];
  /** An access request's assessment. */
  assess?: (input: AccessRequestInput) => RequestAssessment;
  /** Whether the store holds the approvals of a request grant (`checkRequestGrant`); default: it does. */
  checkGrant?: (input: Input<'checkRequestGrant'>) => Output<'checkRequestGrant'>;
  /** A planning activity that fails for good while this says so: the failure's type and message (e.g. AuthError). */
  breaks?: (activity: Breakable) => { type: string; message: string } | undefined;
  /** `lifecycle.maxSequenceJump`: preparePlan holds a snapshot that jumps further (policy/sequence-jump.ts). */
  maxSequenceJump?: number;
  /** Applications quarantined now: their reads and steps fail fast with ApplicationQuarantined (activities/quarantine.ts), re-checked every `recheckMs`. */
  quarantine?: { apps: Set<string>; recheckMs: number; /** false: the plan's reads still answer (only the steps find it quarantined). */ reads?: boolean };
  /** Fence limits per scope key: when set, permits are asked of the (retired) fence workflow, a stand-in for the store's fence that also signals fenceDecision. */
  fence?: { limits: Record<string, number>; windowMs?: number; releasesRequired?: number };
};

/** The activities a test can make fail for good: the planning ones, and a request's bookkeeping. */
export type Breakable = 'preparePlan' | 'readAccount' | 'planChange' | 'recordRequestGrant';

type Held = { active: boolean; entitlements: string[]; account: { app: string; id: string; externalId: string } };

const UNDO_PREFIX = 'undo/';

function now(): number {
  return Context.current().info.currentAttemptScheduledTimestampMs;
}

export function createStubActivities(script: StubScript = {}) {
  const calls: Call[] = [];
  const outcomes: Outcome[] = [];
  const approvalEvents: ApprovalEvent[] = [];
  /** Activities a workflow called that nobody stubbed (the harness fails the test naming them). */
  const missing: string[] = [];
  const snapshots = new Map<string, WorkerSnapshot>();
  /** The fake directory: `${app}/${employeeId}` → the account and what it holds. */
  const directory = new Map<string, Held>();
  /** Fence decisions the store holds by request id (readFenceDecision), whether or not a signal told the workflow. */
  const fenceDecisions = new Map<string, FenceDecision>();

  const record = (activity: string, extra: Omit<Call, 'activity' | 'taskQueue' | 'at'> = {}) => {
    const { taskQueue } = Context.current().info;
    calls.push({ activity, taskQueue, at: now(), ...extra });
  };

  /** What a verb does to the fake directory, and its result. */
  function perform(employeeId: string, step: PlanStep, action: StepAction): StepResult {
    const id = `${step.app}/${employeeId}`;
    const held = directory.get(id);
    if (action === 'ensureAccount') {
      if (held) return { outcome: 'unchanged', account: held.account };
      const account = { app: step.app, id: `${step.app}-${employeeId}`, externalId: employeeId };
      directory.set(id, { active: step.active ?? true, entitlements: [], account });
      return script.adopts?.(step) ? { outcome: 'updated', account, adopted: true } : { outcome: 'created', account };
    }
    if (!held) throw ApplicationFailure.create({ type: 'InvalidRequestError', message: `${step.key}: no account in ${step.app}`, nonRetryable: true });
    const result = (changed: boolean): StepResult => ({ outcome: changed ? 'applied' : 'already-in-state', account: held.account });
    switch (action) {
      case 'enableAccount':
      case 'disableAccount': {
        const active = action === 'enableAccount';
        const changed = held.active !== active;
        held.active = active;
        return result(changed);
      }
      case 'deleteAccount':
        directory.delete(id);
        return result(true);
      case 'updateAccount':
        if (step.actionRequired !== undefined) return { outcome: 'action-required', detail: step.actionRequired, account: held.account };
        return result(true);
      case 'grant':
      case 'revoke': {
        const has = held.entitlements.includes(step.entitlementId!);
        held.entitlements = action === 'grant' ? [...new Set([...held.entitlements, step.entitlementId!])] : held.entitlements.filter((e) => e !== step.entitlementId);
        return result(action === 'grant' ? !has : has);
      }
    }
  }

  /** A connector call of one step (named verb or applyStep), or of an undo (named verbs carry the undo's own `undo/` key). */
  function connectorCall(activity: string, input: ApplyStepInput, action: StepAction): StepResult {
    const { step } = input;
    const undo = step.key.startsWith(UNDO_PREFIX);
    record(activity, { kind: undo ? 'undo' : 'step', app: step.app, action, key: undo ? step.key.slice(UNDO_PREFIX.length) : step.key, ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}) });
    if (!undo) quarantined(step.app);
    if (!undo && script.fails?.(step)) throw ApplicationFailure.create({ type: 'InvalidRequestError', message: `${step.key} fails (scripted)`, nonRetryable: true });
    const result = perform(input.employeeId, step, action);
    if (!undo && Context.current().info.attempt === 1 && script.losesAnswer?.(step)) throw ApplicationFailure.create({ type: 'TransientError', message: `${step.key}: the answer was lost (scripted)` });
    return result;
  }

  /** A quarantined application is not called: its read or step fails fast, for good. */
  function quarantined(app: string): void {
    if (!script.quarantine?.apps.has(app)) return;
    throw ApplicationFailure.create({ type: APPLICATION_QUARANTINED, message: `${app} is quarantined (scripted)`, nonRetryable: true, details: [{ app, state: 'quarantined', recheckMs: script.quarantine.recheckMs }] });
  }

  /** Fails the planning activity the script says is broken, for good (not retried by Temporal). */
  function broken(activity: Breakable): void {
    const failure = script.breaks?.(activity);
    if (failure) throw ApplicationFailure.create({ ...failure, nonRetryable: true });
  }

  const INVERSE: Partial<Record<StepAction, StepAction>> = { ensureAccount: 'deleteAccount', enableAccount: 'disableAccount', disableAccount: 'enableAccount', grant: 'revoke', revoke: 'grant' };
  const verb = (action: StepAction) => async (input: ApplyStepInput): Promise<StepResult> => connectorCall(action, input, action);

  function plannedChange(input: PlanChangeInput): PlannedChange {
    if (input.snapshot) snapshots.set(input.employeeId, input.snapshot);
    const snapshot = snapshots.get(input.employeeId);
    if (!snapshot) throw ApplicationFailure.create({ type: 'UnknownIdentity', message: `no snapshot for ${input.employeeId}`, nonRetryable: true });
    const planned = script.plan?.(input, now()) ?? [];
    const { steps, ...wake } = Array.isArray(planned) ? { steps: planned } : planned;
    return { policyVersion: 'sha256:stub', employeeId: input.employeeId, kind: 'no-change', steps, approvals: [], withheld: [], sod: [], unmanaged: [], snapshot, ...wake };
  }

  async function askFence(input: FencePermitInput): Promise<PermitAnswer> {
    const { fence } = script;
    if (!fence) return { permit: 'allowed' };
    const request: PermitRequest = { ...input.request, limits: fence.limits, windowMs: fence.windowMs ?? 15 * 60_000, releasesRequired: fence.releasesRequired ?? 1 };
    return Context.current().client.workflow.executeUpdateWithStart(requestPermit, {
      args: [request],
      updateId: input.request.requestId,
      startWorkflowOperation: new WithStartWorkflowOperation('fence', { workflowId: input.fenceWorkflowId, taskQueue: input.taskQueue, args: [{}], workflowIdConflictPolicy: 'USE_EXISTING' }),
    });
  }

  const activities = {
    // Planning: in one activity (older histories), or prepared, read per application, then planned.
    async preparePlan(input: PlanChangeInput): Promise<{ apps: string[]; hold?: string }> {
      record('preparePlan');
      broken('preparePlan');
      if (input.snapshot && script.maxSequenceJump !== undefined && input.appliedSequence !== undefined && !input.acceptSequenceJump) {
        const hold = sequenceJumpHold({ appliedSequence: input.appliedSequence, sequence: input.snapshot.sequence, maxJump: script.maxSequenceJump });
        if (hold) return { apps: [], hold };
      }
      if (input.snapshot) snapshots.set(input.employeeId, input.snapshot);
      return { apps: script.apps ?? [] };
    },
    async listApplicationsToRead(): Promise<{ apps: string[] }> {
      record('listApplicationsToRead');
      return { apps: script.apps ?? [] };
    },
    async readAccount(input: { app: string; employeeId: string; idempotencyKey: string }): Promise<ActualAccount | null> {
      record('readAccount', { kind: 'read', app: input.app });
      broken('readAccount');
      if (script.quarantine?.reads !== false) quarantined(input.app);
      const held = directory.get(`${input.app}/${input.employeeId}`);
      return held ? { app: input.app, account: held.account, active: held.active, entitlements: [...held.entitlements] } : null;
    },
    async planChange(input: PlanChangeInput): Promise<PlannedChange> {
      record('planChange');
      broken('planChange');
      return plannedChange(input);
    },

    // Connector calls, named by verb.
    ensureAccount: verb('ensureAccount'),
    enableAccount: verb('enableAccount'),
    updateAccount: verb('updateAccount'),
    disableAccount: verb('disableAccount'),
    deleteAccount: verb('deleteAccount'),
    grant: verb('grant'),
    revoke: verb('revoke'),
    // Connector calls of older histories: one activity for every verb, and its undo.
    async applyStep(input: ApplyStepInput): Promise<StepResult> {
      return connectorCall('applyStep', input, input.step.action);
    },
    async undoStep(input: UndoStepInput): Promise<StepResult> {
      const inverse = INVERSE[input.step.action];
      const { step } = input;
      record('undoStep', { kind: 'undo', app: step.app, action: inverse ?? step.action, key: step.key, ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}) });
      if (!inverse || (step.action === 'ensureAccount' && step.account)) return { outcome: 'unchanged' };
      return perform(input.employeeId, step, inverse);
    },

    // Bookkeeping.
    async recordChange(input: RecordChangeInput): Promise<void> {
      record('recordChange');
      void input;
    },
    async publishOutcome(outcome: Outcome): Promise<void> {
      record('publishOutcome');
      outcomes.push(outcome);
    },
    async requestFencePermit(input: FencePermitInput): Promise<PermitAnswer> {
      record('requestFencePermit');
      return askFence(input);
    },
    async withdrawFencePermit(input: Input<'withdrawFencePermit'>): Promise<void> {
      record('withdrawFencePermit');
      if (script.fence) await Context.current().client.workflow.getHandle(input.fenceWorkflowId).signal(permitWithdrawn, { requestId: input.requestId }).catch(() => undefined);
    },

    async readFenceDecision(input: Input<'readFenceDecision'>): Promise<FenceDecision | undefined> {
      record('readFenceDecision');
      return fenceDecisions.get(input.requestId);
    },

    async quarantinedApplicationsOf(input: Input<'quarantinedApplicationsOf'>): Promise<Output<'quarantinedApplicationsOf'>> {
      record('quarantinedApplicationsOf');
      const q = script.quarantine;
      return { waiting: input.apps.filter((app) => q?.apps.has(app)).map((app) => ({ app, state: 'quarantined' as const, recheckMs: q!.recheckMs })) };
    },

    // Approvals and access requests.
    async resolveApprovalChains(input: Input<'resolveApprovalChains'>): Promise<Record<string, ChainSpec[]>> {
      record('resolveApprovalChains');
      return Object.fromEntries(input.steps.map((s) => [s.key, script.chains?.(s) ?? []]));
    },
    async recordApprovalEvents(input: Input<'recordApprovalEvents'>): Promise<number> {
      record('recordApprovalEvents');
      approvalEvents.push(...input.events);
      return input.events.length;
    },
    async recordRequestGrant(input: Input<'recordRequestGrant'>): Promise<void> {
      record('recordRequestGrant', { app: input.app, entitlementId: input.entitlementId });
      broken('recordRequestGrant');
    },
    async checkRequestGrant(input: Input<'checkRequestGrant'>): Promise<Output<'checkRequestGrant'>> {
      record('checkRequestGrant', { app: input.app, entitlementId: input.entitlementId });
      return script.checkGrant?.(input) ?? { verdict: 'approved', policyVersion: 'sha256:stub' };
    },
    async endRequestGrants(input: Input<'endRequestGrants'>): Promise<number> {
      record('endRequestGrants', { app: input.app, entitlementId: input.entitlementId });
      return 1;
    },
    async assessAccessRequest(input: AccessRequestInput): Promise<RequestAssessment> {
      record('assessAccessRequest');
      if (!script.assess) throw ApplicationFailure.create({ type: 'NotScripted', message: 'this test scripted no assessment', nonRetryable: true });
      return script.assess(input);
    },

    /** Anything else the workflows call: a test must say what it returns, so this fails loudly. */
    async default(): Promise<never> {
      const { activityType } = Context.current().info;
      record(activityType);
      if (!missing.includes(activityType)) missing.push(activityType);
      throw ApplicationFailure.create({ type: 'NotStubbed', message: `activity ${activityType} is not stubbed in test/workflows/stub-activities.ts`, nonRetryable: true });
    },
  };

  return {
    activities,
    calls,
    outcomes,
    approvalEvents,
    missing,
    /** Decides a held ask in the (stub) store only: no `fenceDecision` signal tells the workflow. */
    decideInStore: (requestId: string, decision: FenceDecision) => void fenceDecisions.set(requestId, decision),
    /** The connector calls (steps and undos, not reads), in order. */
    connectorCalls: () => calls.filter((c) => c.kind === 'step' || c.kind === 'undo'),
    /** What the fake directory holds for a person in an application. */
    held: (app: string, employeeId: string) => directory.get(`${app}/${employeeId}`),
  };
}

export type Stubs = ReturnType<typeof createStubActivities>;
