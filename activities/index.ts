// The side effects the workflows call, built from their dependencies (createActivities(deps)).
// Every change to a target goes through the store's audited step: the intent is recorded before
// the connector is called, and nothing is called when it cannot be recorded (fail closed).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { AccountRef, CallContext, ChangeOutcome, Connector, EnsureAccountResult } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import { InvalidRequestError, NotFoundError } from '../connectors/errors.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Identity } from '../policy/identity.js';
import { fenceLimit, fenceWindowMs } from '../policy/fencing.js';
import { planIdentity } from '../policy/planner.js';
import { requestPermit, scopeKey, type PermitAnswer, type PermitRequest } from '../workflows/fence-messages.js';
import { outcomeSchema, type Outcome } from '../schemas/outcomes.js';
import { listGrants, markSequenceApplied, recordAccount, recordOutcome, recordPlan, upsertIdentity, outcomeAuditEntry, addGrant, revokeGrant, type Store } from '../store/index.js';
import { readActualAccounts } from './actual-accounts.js';
import { createApplicationModeReader, type ApplicationModeReader } from './application-modes.js';
import { createApprovalActivities, storedSnapshot } from './approvals.js';
import { EntitlementCatalog } from './entitlement-catalog.js';
import { atBoundary } from './failures.js';
import type { ApplyStepInput, PlanChangeInput, PlannedChange, PlanStep, RecordChangeInput, StepResult, UndoStepInput } from './lifecycle-types.js';

export type ActivityDeps = {
  /** The policy in force (re-read by its owner when the files change). */
  policy: () => CompiledPolicy;
  connectors: ReadonlyMap<string, Connector>;
  store: Store;
  publishOutcome: (outcome: Outcome) => Promise<void>;
  logger: Logger;
  /**
   * Safety rails (config `safety`): the default plan-only applications (an operator's `apps arm |
   * disarm`, recorded in the store, overrides it per application) and an operator's population
   * estimate (the release rule is the policy's).
   */
  safety?: { planOnly: readonly string[]; populationEstimate?: number };
  /** Which applications are plan-only now (default: config `safety.planOnly` overridden by the store's modes, re-read every 2 s). */
  applicationModes?: ApplicationModeReader;
};

export type RequestFencePermitInput = {
  fenceWorkflowId: string;
  taskQueue: string;
  request: Omit<PermitRequest, 'limits' | 'windowMs' | 'releasesRequired'>;
};

const SYSTEM = { type: 'system' as const, id: 'identity-workflow' };

function callContext(idempotencyKey: string): CallContext & { workflowId: string } {
  const ctx = Context.current();
  const workflowId = ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId;
  return { idempotencyKey, correlationId: workflowId, signal: ctx.cancellationSignal, workflowId };
}

function fromEnsure(result: EnsureAccountResult): StepResult {
  return result.status === 'action-required'
    ? { outcome: 'action-required', detail: result.message, ...(result.account ? { account: result.account } : {}) }
    : { outcome: result.status, account: result.account };
}

const fromChange = (result: ChangeOutcome, account?: AccountRef): StepResult => ({ outcome: result.status, ...(account ? { account } : {}) });

export function createActivities(deps: ActivityDeps) {
  const { store } = deps;
  // Read on every step (cached for at most 2 s): an arm takes effect without a restart. A store
  // that cannot be read fails the activity, which Temporal retries (fail closed, never a guess).
  const modes = deps.applicationModes ?? createApplicationModeReader({ db: store.pool, planOnly: deps.safety?.planOnly ?? [], logger: deps.logger });
  const catalog = new EntitlementCatalog(deps.connectors);
  const connector = (app: string): Connector => {
    const found = deps.connectors.get(app);
    if (!found) throw new InvalidRequestError(`no connector is configured for application ${app}`, app);
    return found;
  };
  const needs = <C extends Parameters<typeof can>[1]>(c: Connector, capability: C, action: string) => {
    if (!can(c, capability)) throw new InvalidRequestError(`${c.app} cannot ${action} (its connector lacks the ${capability} capability)`, c.app);
    return c as Connector & Required<Connector>;
  };

  /** The population the fence's shares multiply: the identities in the store. */
  async function countIdentities(): Promise<number> {
    const { rows } = await store.pool.query<{ n: string }>('select count(*) as n from identities');
    return Number(rows[0]!.n);
  }

  /** Calls the connector for one planned step. */
  async function perform(input: ApplyStepInput, call: CallContext): Promise<StepResult> {
    const { step, snapshot } = input;
    const c = connector(step.app);
    const account = step.account;
    const requireAccount = (): AccountRef => {
      if (!account) throw new InvalidRequestError(`${step.key}: no account in ${step.app} to act on`, step.app);
      return account;
    };
    switch (step.action) {
      case 'ensureAccount': {
        if (!snapshot.email || !snapshot.givenName || !snapshot.familyName) {
          throw new InvalidRequestError(`${step.key}: the snapshot lacks givenName, familyName or email`, step.app);
        }
        // An existing account without our correlation key is adopted only when the policy's
        // correlation rule adopts automatically; `after-approval` stays action-required until then.
        const adopt = step.correlation?.adopt === 'automatic' ? { adopt: { by: step.correlation.matchBy } } : {};
        return fromEnsure(await c.ensureAccount({ employeeId: input.employeeId, userName: snapshot.email, givenName: snapshot.givenName, familyName: snapshot.familyName, email: snapshot.email, active: true, ...adopt }, call));
      }
      case 'enableAccount':
        return fromChange(await needs(c, 'disable', 'enable accounts').enableAccount({ account: requireAccount() }, call), account);
      case 'disableAccount':
        return fromChange(await needs(c, 'disable', 'disable accounts').disableAccount({ account: requireAccount() }, call), account);
      case 'deleteAccount':
        return fromChange(await needs(c, 'delete', 'delete accounts').deleteAccount({ account: requireAccount() }, call), account);
      case 'grant':
      case 'revoke': {
        const e = needs(c, 'entitlements', `${step.action} entitlements`);
        if (step.action === 'grant') {
          const req = { account: requireAccount(), entitlementId: await catalog.idOf(step.app, step.entitlementId!, call) };
          return fromChange(await e.grant(req, call), account);
        }
        // Nobody can hold an entitlement the application does not have: a revoke of it is already done.
        const gone = { outcome: 'already-in-state' as const, ...(account ? { account } : {}), detail: `${step.app} has no entitlement ${step.entitlementId}` };
        const entitlementId = await catalog.idOf(step.app, step.entitlementId!, call).catch((err: unknown) => {
          if (err instanceof InvalidRequestError) return undefined;
          throw err;
        });
        if (entitlementId === undefined) return gone;
        try {
          return fromChange(await e.revoke({ account: requireAccount(), entitlementId }, call), account);
        } catch (err) {
          if (err instanceof NotFoundError) return gone;
          throw err;
        }
      }
    }
  }

  /** Keeps the store's view of accounts and grants in line with what a step did, audited when it changed. */
  async function remember(input: ApplyStepInput, result: StepResult, workflowId: string): Promise<void> {
    const { step, employeeId } = input;
    const base = { actor: SYSTEM, subject: { employeeId }, eventId: input.eventId, workflowId, policyVersion: input.policyVersion };
    if (result.outcome === 'planned' || result.outcome === 'rejected') return;
    if (result.outcome === 'action-required' || result.outcome === 'unchanged' || result.outcome === 'already-in-state') {
      if (!(step.action === 'ensureAccount' && result.account)) return;
    }
    if (step.action === 'grant' || step.action === 'revoke') {
      await store.change(
        async (tx) => {
          if (step.action === 'grant') {
            const added = await addGrant(tx, { employeeId, app: step.app, entitlementId: step.entitlementId!, provenance: { kind: 'birthright', ruleId: step.reason.slice(0, 200) || 'policy' }, policyVersion: input.policyVersion });
            return added.result !== 'unchanged';
          }
          return (await revokeGrant(tx, { employeeId, app: step.app, entitlementId: step.entitlementId!, reason: step.reason })).length > 0;
        },
        (changed: boolean) => (changed ? { ...base, action: `grant.${step.action === 'grant' ? 'added' : 'revoked'}`, reason: step.reason, changes: [{ op: step.action, app: step.app, entitlement: step.entitlementId!, outcome: result.outcome }] } : null),
      );
      return;
    }
    const account = result.account ?? step.account;
    if (!account) return;
    const status = step.action === 'deleteAccount' ? 'deleted' : step.action === 'disableAccount' ? 'disabled' : 'active';
    await store.change(
      (tx) => recordAccount(tx, { employeeId, app: step.app, accountId: account.id, status }),
      (r: { changed: boolean }) => (r.changed ? { ...base, action: 'account.recorded', reason: step.reason, changes: [{ op: step.action, app: step.app, outcome: result.outcome, account: account.id }] } : null),
      );
  }

  /** One planned step through its connector, between its audit records (the intent first: fail closed). */
  async function applyStep(input: ApplyStepInput): Promise<StepResult> {
    const { workflowId, ...call } = callContext(input.idempotencyKey);
    const { step, employeeId } = input;
    const base = { actor: SYSTEM, subject: { employeeId }, eventId: input.eventId, workflowId, policyVersion: input.policyVersion };
    const change = { op: step.action, app: step.app, ...(step.entitlementId ? { entitlement: step.entitlementId } : {}) };
    if (await modes.isPlanOnly(step.app)) {
      // Plan-only: computed, recorded and audited as planned; the connector is not called.
      const detail = `plan-only: ${step.app} is not armed, nothing was written`;
      await store.change(
        async () => true,
        () => ({ ...base, action: 'step.planned', reason: step.reason, changes: [{ ...change, outcome: 'planned' }] }),
      );
      deps.logger.info({ employeeId, workflowId, app: step.app, action: step.action }, 'step planned (plan-only)');
      return { outcome: 'planned', detail };
    }
    const result = await atBoundary(() =>
      store.step(
        {
          key: input.idempotencyKey,
          intent: { ...base, action: 'step.requested', reason: step.reason, changes: [change] },
          // What a connector says can name the person: it goes in the sealed `personal` part, never in the clear reason.
          done: (r: StepResult) => ({ ...base, action: 'step.completed', reason: step.reason, changes: [{ ...change, outcome: r.outcome, ...(r.account ? { account: r.account.id } : {}) }], ...(r.detail ? { personal: { detail: r.detail.slice(0, 2000) } } : {}) }),
          failed: (err) => ({ ...base, action: 'step.failed', reason: `${step.action} failed: ${err instanceof Error ? err.name : 'error'}`, changes: [{ ...change, outcome: 'failed' }], personal: { error: err instanceof Error ? err.message.slice(0, 2000) : String(err) } }),
        },
        () => perform(input, call),
      ),
    );
    await remember(input, result, workflowId);
    deps.logger.info({ employeeId, workflowId, app: step.app, action: step.action, outcome: result.outcome, attempt: Context.current().info.attempt }, 'step applied');
    return result;
  }

  return {
    ...createApprovalActivities({ policy: deps.policy, connectors: deps.connectors, store, logger: deps.logger, catalog }),

    async planChange(input: PlanChangeInput): Promise<PlannedChange> {
      const policy = deps.policy();
      const { workflowId, ...call } = callContext(`${input.changeId}/plan`);
      const { employeeId } = input;
      // A change without an HR event (a grant, its expiry, a revoke request) plans on the stored snapshot.
      const snapshot = input.snapshot ?? (await storedSnapshot(store, employeeId));
      if (!snapshot) throw ApplicationFailure.create({ type: 'UnknownIdentity', message: `no HR snapshot is stored for ${employeeId}: nothing to plan from`, nonRetryable: true });
      if (input.snapshot) await store.change(
        async (tx) => ({ changed: (await upsertIdentity(tx, snapshot)).stored }),
        (r: { changed: boolean }) => (r.changed ? { actor: SYSTEM, action: 'identity.snapshot-stored', reason: `${input.eventType} sequence ${snapshot.sequence}`, subject: { employeeId }, eventId: input.changeId, workflowId, changes: [{ op: 'status', outcome: snapshot.status }] } : null),
      );
      // What the person actually has: as each application reports it.
      const actual = await readActualAccounts(policy, deps.connectors, catalog, employeeId, call);
      const grants = (await listGrants(store.pool, employeeId))
        .filter((g) => g.provenance.kind !== 'birthright')
        .map((g) => ({ id: g.grantId, entitlement: `${g.app}:${g.entitlementId}`, grantedAt: g.grantedAt.toISOString(), ...(g.expiresAt ? { expiresAt: g.expiresAt.toISOString() } : {}) }));
      const { plan } = planIdentity(policy, { identity: snapshot as Identity, actual, grants, now: new Date().toISOString() });
      // An entitlement an approved request brings went through its approval chain (separation of
      // duties reviews included) in the request workflow: the identity workflow does not ask again.
      const requested = new Set(grants.map((g) => g.entitlement));
      const settled = (s: PlanStep): PlanStep => {
        if (s.action !== 'grant' || !s.approvals || !requested.has(`${s.app}:${s.entitlementId}`)) return s;
        const { approvals: _approved, ...rest } = s;
        return rest;
      };
      // Applications the policy names but no connector serves cannot be acted on: say so in the plan.
      const executable = { ...plan, steps: plan.steps.filter((s) => deps.connectors.has(s.app)).map(settled) };
      await store.change(
        (tx) => recordPlan(tx, { changeId: `${workflowId}/${input.changeId}`, employeeId, eventId: input.changeId, sequence: snapshot.sequence, policyVersion: plan.policyVersion, steps: executable.steps }),
        (r: { created: boolean }) => (r.created ? { actor: SYSTEM, action: 'plan.recorded', reason: `${plan.kind}: ${executable.steps.length} steps`, subject: { employeeId }, eventId: input.changeId, workflowId, policyVersion: plan.policyVersion, changes: executable.steps.map((s) => ({ op: s.action, app: s.app, ...(s.entitlementId ? { entitlement: s.entitlementId } : {}) })) } : null),
      );
      deps.logger.info({ employeeId, workflowId, kind: plan.kind, steps: executable.steps.length, policyVersion: plan.policyVersion }, 'planned');
      return { ...executable, snapshot };
    },

    applyStep,

    /**
     * Asks the fence for a change's destructive steps (update-with-start on the fence workflow),
     * with the limits of the policy in force. Steps of plan-only applications are counted too: the
     * application can be armed between this permit and the step, and an arm must never let a mass
     * change past the fence (a plan-only dry run of a mass termination trips it as the real one would).
     */
    async requestFencePermit(input: RequestFencePermitInput): Promise<PermitAnswer> {
      const { steps } = input.request;
      if (steps.length === 0) return { permit: 'allowed' };
      const { fencing } = deps.policy().model;
      // The policy's population wins; then an operator's estimate (config); then the identities the store knows.
      const population = fencing.population ?? deps.safety?.populationEstimate ?? (await countIdentities());
      const limits: Record<string, number> = {};
      for (const s of steps) {
        const bySource = fenceLimit(fencing, { scope: 'source', source: input.request.source }, s.action, population);
        const byApp = fenceLimit(fencing, { scope: 'application', app: s.app }, s.action, population);
        if (Number.isFinite(bySource)) limits[scopeKey('source', input.request.source, s.action)] = bySource;
        if (Number.isFinite(byApp)) limits[scopeKey('app', s.app, s.action)] = byApp;
      }
      const request: PermitRequest = { ...input.request, steps, limits, windowMs: fenceWindowMs(fencing), releasesRequired: fencing.releasesRequired };
      const answer = await Context.current().client.workflow.executeUpdateWithStart(requestPermit, {
        args: [request],
        updateId: input.request.requestId,
        startWorkflowOperation: new WithStartWorkflowOperation('fence', { workflowId: input.fenceWorkflowId, taskQueue: input.taskQueue, args: [{}], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
      if (answer.permit === 'held') deps.logger.warn({ employeeId: input.request.employeeId, batchId: answer.batchId, reasons: answer.reasons }, 'destructive steps held by the fence');
      return answer;
    },

    async undoStep(input: UndoStepInput): Promise<StepResult> {
      const { step } = input;
      const inverse: Record<string, ApplyStepInput['step']['action'] | undefined> = {
        // An account this change created is deleted; one that existed before is left as it was.
        ensureAccount: input.step.account ? undefined : 'deleteAccount',
        enableAccount: 'disableAccount',
        disableAccount: 'enableAccount',
        grant: 'revoke',
        revoke: 'grant',
        deleteAccount: undefined,
      };
      const action = inverse[step.action];
      if (!action) return { outcome: 'unchanged', detail: `${step.action} is not undone` };
      let account = step.account ?? input.result?.account;
      if (!account && step.action === 'ensureAccount') {
        const { workflowId: _w, ...call } = callContext(`${input.idempotencyKey}/undo`);
        const found = await atBoundary(() => connector(step.app).getAccount({ employeeId: input.employeeId }, call));
        if (!found) return { outcome: 'already-in-state', detail: 'no account was created' };
        account = { app: step.app, id: found.id, externalId: found.externalId };
      }
      const undo: ApplyStepInput = {
        ...input,
        idempotencyKey: `${input.idempotencyKey}/undo`,
        step: { ...step, key: `undo/${step.key}`, action, reason: `undo: ${step.reason}`, ...(account ? { account } : {}) },
      };
      return applyStep(undo);
    },

    async recordChange(input: RecordChangeInput): Promise<void> {
      await store.change(
        async (tx) => {
          const recorded = await recordOutcome(tx, input.outcome);
          if (input.outcome.status !== 'ignored') await markSequenceApplied(tx, input.employeeId, input.sequence);
          return recorded;
        },
        (r: { created: boolean }) => (r.created ? outcomeAuditEntry(input.outcome) : null),
      );
    },

    async publishOutcome(outcome: Outcome): Promise<void> {
      await deps.publishOutcome(outcomeSchema.parse(outcome));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
