// The connector calls of a plan's steps, one activity per verb (`ensureAccount`, `enableAccount`,
// `updateAccount`, `disableAccount`, `deleteAccount`, `grant`, `revoke`), each on the
// application's own task queue (runtime/app-activity-workers.ts), so the Temporal UI's history of a
// person says what happened where. Every call goes through one audited step: the intent is recorded before the connector is
// called and nothing is called when it cannot be recorded (fail closed); a plan-only application
// is not called at all (the step is recorded as planned); what the step did to accounts and
// grants is remembered in the store, audited when it changed.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AccountRef, CallContext, ChangeOutcome, Connector, EnsureAccountResult } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import { InvalidRequestError, NotFoundError } from '../connectors/errors.js';
import type { Logger } from '../observability/logger.js';
import { label, metrics, timeConnectorCall } from '../observability/metrics.js';
import type { StepAction } from '../policy/planner.js';
import { undoKey, undoOf } from '../policy/undo-step.js';
import { addGrant, recordAccount, revokeGrant, type Store } from '../store/index.js';
import { readActualAccount } from './actual-accounts.js';
import type { ApplicationModeReader } from './application-modes.js';
import { activityWorkflowId, callContext } from './call-context.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import type { QuarantineGuard } from './quarantine.js';
import { atBoundary } from './failures.js';
import type { ApplyStepInput, StepResult, UndoStepInput } from './lifecycle-types.js';
import { IDENTITY_WORKFLOW_ACTOR as SYSTEM } from './lifecycle-types.js';
import { APPLICATION_PAUSED } from '../workflows/messages.js';

export type StepActivityDeps = {
  connectors: ReadonlyMap<string, Connector>;
  catalog: EntitlementCatalog;
  store: Store;
  logger: Logger;
  /** Which applications are plan-only now. */
  modes: ApplicationModeReader;
  /** A quarantined application is not called (activities/quarantine.ts). */
  quarantine?: QuarantineGuard;
};

/** One verb's connector call for a step: what the application answered, as the step's result. */
type ConnectorCall = (input: ApplyStepInput, call: CallContext) => Promise<StepResult>;


function fromEnsure(result: EnsureAccountResult): StepResult {
  return result.status === 'action-required'
    ? { outcome: 'action-required', detail: result.message, ...(result.account ? { account: result.account } : {}) }
    : { outcome: result.status, account: result.account, ...(result.status === 'updated' && result.adopted ? { adopted: true as const } : {}) };
}

// The connector's handle wins when it gives one: the verb moved or renamed the account (an LDAP entry to the disabled OU).
const fromChange = (result: ChangeOutcome, account?: AccountRef): StepResult => {
  const now = result.account ?? account;
  return { outcome: result.status, ...(now ? { account: now } : {}) };
};

/** The mapped values of an ensureAccount step: the identifier is the userName, the rest the request's `attributes`. */
function mappedRequest(attributes: NonNullable<ApplyStepInput['step']['attributes']>): { userName?: string; attributes: Record<string, string> } {
  const values = Object.fromEntries(Object.entries(attributes).flatMap(([name, c]) => (c.to === null ? [] : [[name, c.to]])));
  const userName = values.userName ?? values.uid;
  return { ...(userName !== undefined ? { userName } : {}), attributes: values };
}

export function createStepActivities(deps: StepActivityDeps) {
  const { store, catalog } = deps;
  const connector = (app: string): Connector => {
    const found = deps.connectors.get(app);
    if (!found) throw new InvalidRequestError(`no connector is configured for application ${app}`, app);
    return found;
  };
  const needs = <C extends Parameters<typeof can>[1]>(c: Connector, capability: C, action: string) => {
    if (!can(c, capability)) throw new InvalidRequestError(`${c.app} cannot ${action} (its connector lacks the ${capability} capability)`, c.app);
    return c as Connector & Required<Connector>;
  };
  const accountOf = ({ step }: ApplyStepInput): AccountRef => {
    if (!step.account) throw new InvalidRequestError(`${step.key}: no account in ${step.app} to act on`, step.app);
    return step.account;
  };

  const calls: Record<StepAction, ConnectorCall> = {
    async ensureAccount(input, call) {
      const { step, snapshot } = input;
      if (!snapshot.email || !snapshot.givenName || !snapshot.familyName) {
        throw new InvalidRequestError(`${step.key}: the snapshot lacks givenName, familyName or email`, step.app);
      }
      // An existing account without our correlation key is adopted only when the policy's
      // correlation rule adopts automatically; `after-approval` stays action-required until then.
      const adopt = step.correlation?.adopt === 'automatic' ? { adopt: { by: step.correlation.matchBy } } : {};
      // An application that declares `attributes` is created with its mapped values (the plan computed them).
      const mapped = step.attributes ? mappedRequest(step.attributes) : {};
      const request = { employeeId: input.employeeId, userName: snapshot.email, givenName: snapshot.givenName, familyName: snapshot.familyName, email: snapshot.email, active: step.active ?? true, ...adopt, ...mapped };
      return fromEnsure(await connector(step.app).ensureAccount(request, call));
    },
    async updateAccount(input, call) {
      const { step } = input;
      // A rename the application does not allow: planned for a human, nothing is called.
      if (step.actionRequired !== undefined) return { outcome: 'action-required', detail: step.actionRequired, ...(step.account ? { account: step.account } : {}) };
      if (!step.attributes) throw new InvalidRequestError(`${step.key}: an updateAccount step without attributes`, step.app);
      const c = needs(connector(step.app), 'update', 'update accounts');
      const changes = Object.fromEntries(Object.entries(step.attributes).map(([name, change]) => [name, change.to]));
      return fromChange(await c.updateAccount({ account: accountOf(input), changes }, call), step.account);
    },
    async enableAccount(input, call) {
      const c = needs(connector(input.step.app), 'disable', 'enable accounts');
      return fromChange(await c.enableAccount({ account: accountOf(input) }, call), input.step.account);
    },
    async disableAccount(input, call) {
      const c = needs(connector(input.step.app), 'disable', 'disable accounts');
      return fromChange(await c.disableAccount({ account: accountOf(input) }, call), input.step.account);
    },
    async deleteAccount(input, call) {
      const c = needs(connector(input.step.app), 'delete', 'delete accounts');
      return fromChange(await c.deleteAccount({ account: accountOf(input) }, call), input.step.account);
    },
    async grant(input, call) {
      const { step } = input;
      const c = needs(connector(step.app), 'entitlements', 'grant entitlements');
      // A group recreated in the application under a new id is found again by its name (once).
      const result = await catalog.withId(step.app, step.entitlementId!, call, (entitlementId) => c.grant({ account: accountOf(input), entitlementId }, call));
      return fromChange(result, step.account);
    },
    async revoke(input, call) {
      const { step } = input;
      const account = step.account;
      const c = needs(connector(step.app), 'entitlements', 'revoke entitlements');
      // Nobody can hold an entitlement the application does not have: a revoke of it is already done.
      const gone = { outcome: 'already-in-state' as const, ...(account ? { account } : {}), detail: `${step.app} has no entitlement ${step.entitlementId}` };
      const known = await catalog.idOf(step.app, step.entitlementId!, call).catch((err: unknown) => {
        if (err instanceof InvalidRequestError) return undefined;
        throw err;
      });
      if (known === undefined) return gone;
      try {
        // A group recreated under a new id is found again by its name (once) before the revoke is judged done.
        return fromChange(await catalog.withId(step.app, step.entitlementId!, call, (entitlementId) => c.revoke({ account: accountOf(input), entitlementId }, call)), account);
      } catch (err) {
        if (err instanceof NotFoundError) return gone;
        throw err;
      }
    },
  };

  /** Keeps the store's view of accounts and grants in line with what a step did, audited when it changed. */
  async function remember(input: ApplyStepInput, result: StepResult, workflowId: string): Promise<void> {
    const { step, employeeId } = input;
    const base = { actor: SYSTEM, subject: { employeeId }, eventId: input.eventId, workflowId, policyVersion: input.policyVersion };
    if (result.outcome === 'planned' || result.outcome === 'rejected') return;
    // An update changes attributes, not the account's state: nothing for the store to remember.
    if (step.action === 'updateAccount') return;
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
    const status = step.action === 'deleteAccount' ? 'deleted' : step.action === 'disableAccount' || step.active === false ? 'disabled' : 'active';
    await store.change(
      (tx) => recordAccount(tx, { employeeId, app: step.app, accountId: account.id, status }),
      (r: { changed: boolean }) => (r.changed ? { ...base, action: 'account.recorded', reason: step.reason, changes: [{ op: step.action, app: step.app, outcome: result.outcome, account: account.id }] } : null),
    );
  }

  /** One planned step through its connector, between its audit records (the intent first: fail closed). */
  async function audited(verb: StepAction, input: ApplyStepInput): Promise<StepResult> {
    const { step, employeeId } = input;
    const workflowId = activityWorkflowId();
    const base = { actor: SYSTEM, subject: { employeeId }, eventId: input.eventId, workflowId, policyVersion: input.policyVersion };
    // Attribute names, never their values: the values are the person's (they stay in the sealed history).
    const change = { op: step.action, app: step.app, ...(step.entitlementId ? { entitlement: step.entitlementId } : {}), ...(step.action === 'updateAccount' && step.attributes ? { fields: Object.keys(step.attributes).sort() } : {}) };
    // A programmer error (never retried): the workflow scheduled a step under another verb's name.
    if (step.action !== verb) return atBoundary(() => Promise.reject(new TypeError(`${step.key}: a ${step.action} step was sent to the ${verb} activity`)));
    if (await deps.modes.isPlanOnly(step.app)) {
      // Plan-only: computed, recorded and audited as planned; the connector is not called.
      const detail = `plan-only: ${step.app} is not armed, nothing was written`;
      await store.change(
        async () => true,
        () => ({ ...base, action: 'step.planned', reason: step.reason, changes: [{ ...change, outcome: 'planned' }] }),
      );
      deps.logger.info({ employeeId, workflowId, app: step.app, action: step.action }, 'step planned (plan-only)');
      metrics.steps.inc({ app: label(step.app), action: verb, outcome: 'planned' });
      return { outcome: 'planned', detail };
    }
    const call = callContext(input.idempotencyKey);
    // A quarantined application is not called (nor its intent recorded): the workflow waits for its release.
    const guarded = <T>(fn: () => Promise<T>): Promise<T> => (deps.quarantine ? deps.quarantine.run(step.app, fn) : fn());
    const result = await atBoundary(() =>
      guarded(() => store.step(
        {
          key: input.idempotencyKey,
          intent: { ...base, action: 'step.requested', reason: step.reason, changes: [change] },
          // What a connector says can name the person: it goes in the sealed `personal` part, never in the clear reason.
          done: (r: StepResult) => ({ ...base, action: 'step.completed', reason: step.reason, changes: [{ ...change, outcome: r.outcome, ...(r.account ? { account: r.account.id } : {}) }], ...(r.detail ? { personal: { detail: r.detail.slice(0, 2000) } } : {}) }),
          failed: (err) => ({ ...base, action: 'step.failed', reason: `${step.action} failed: ${err instanceof Error ? err.name : 'error'}`, changes: [{ ...change, outcome: 'failed' }], personal: { error: err instanceof Error ? err.message.slice(0, 2000) : String(err) } }),
        },
        () => timeConnectorCall(step.app, verb, () => calls[verb](input, call)),
      )),
    ).catch((err: unknown) => {
      // An attempt that threw (Temporal retries it, or the step fails for good): `error`.
      // An attempt held by the application's Retry-After (ApplicationPaused) never called it: `paused`, not an error.
      const paused = err instanceof ApplicationFailure && err.type === APPLICATION_PAUSED;
      metrics.steps.inc({ app: label(step.app), action: verb, outcome: paused ? 'paused' : 'error' });
      throw err;
    });
    metrics.steps.inc({ app: label(step.app), action: verb, outcome: result.outcome });
    await remember(input, result, workflowId);
    deps.logger.info({ employeeId, workflowId, app: step.app, action: step.action, outcome: result.outcome, attempt: Context.current().info.attempt }, 'step applied');
    return result;
  }

  return {
    ensureAccount: (input: ApplyStepInput) => audited('ensureAccount', input),
    enableAccount: (input: ApplyStepInput) => audited('enableAccount', input),
    updateAccount: (input: ApplyStepInput) => audited('updateAccount', input),
    disableAccount: (input: ApplyStepInput) => audited('disableAccount', input),
    deleteAccount: (input: ApplyStepInput) => audited('deleteAccount', input),
    grant: (input: ApplyStepInput) => audited('grant', input),
    revoke: (input: ApplyStepInput) => audited('revoke', input),

    // Legacy entry points, registered ONLY for workflow histories recorded before the named
    // connector activities (patch `named-connector-activities`), which schedule `applyStep` and
    // `undoStep`: they dispatch to the verbs above. New workflow code never calls them.

    /** Legacy: one step under the name of its verb's activity. */
    applyStep: (input: ApplyStepInput) => audited(input.step.action, input),

    /** Legacy: the undo of one step (the workflow computes it itself now, with the same undoOf). */
    async undoStep(input: UndoStepInput): Promise<StepResult> {
      const { step } = input;
      let undo = undoOf(step, input.result?.account);
      if (undo.kind === 'read-account') {
        const found = await readActualAccount(deps.connectors, catalog, step.app, input.employeeId, callContext(undoKey(input.idempotencyKey)));
        undo = undoOf(step, found?.account ?? null);
      }
      if (undo.kind !== 'step') return undo.kind === 'nothing' ? { outcome: undo.outcome, detail: undo.detail } : { outcome: 'unchanged' };
      return audited(undo.step.action, { ...input, idempotencyKey: undoKey(input.idempotencyKey), step: undo.step });
    },
  };
}

export type StepActivities = ReturnType<typeof createStepActivities>;
