// Applies the steps of one change in order, as a saga: each step's compensation is registered
// before the step runs; when a step fails for good, what this change did is undone in reverse.
// Steps run in waves of the same action (every disable before any revoke, every account before any
// grant); within a wave, different applications run concurrently and one application's steps in order.
// Each step is its verb's activity on its application's queue (`ensureAccount`, `grant`, ...,
// workflows/connector-activities.ts), so a person's history in the Temporal UI says what was done where.
//
// Leavers first (docs/architecture.md#leavers-first): steps that cut access (every disable and delete, a termination's
// revokes) run on the application's urgent queue, `<baseQueue>-app-<app>-urgent`, polled by the
// same app activity worker with its own slots and rate limit, so they never queue behind a joiner
// surge's ensureAccount and grant tasks. They also carry a priority key (disables 1, the rest 2),
// which orders a mass termination's disables before its revokes where the server matches by
// priority (Temporal's new matcher: `matching.useNewMatcher`, see stack/temporal.ts).
import { ActivityFailure, ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { ApplyStepInput, PlanStep, StepResult } from '../activities/lifecycle-types.js';
import type { AccountRef } from '../connectors/contract.js';
import { undoKey, undoOf } from '../policy/undo-step.js';
import type { StepOutcome } from '../schemas/outcomes.js';
import { connectorActivities, DISABLE_PRIORITY, stepSummary, URGENT_PRIORITY, type Placement } from './connector-activities.js';
import { Saga, type CompensationReport } from './saga.js';
import { quarantinedBy } from './identity/quarantine.js';
import type { QuarantinedDetails } from './messages.js';

/** What a change did: its steps' outcomes, what it undid, and the person's accounts after it (`removed`: the applications where it deleted one or undid the one it created). */
export type AppliedChange = {
  steps: StepOutcome[];
  compensations: CompensationReport[];
  failed: boolean;
  accounts: Record<string, AccountRef>;
  removed?: string[];
  /** Quarantined applications: their steps from the first one refused on were not run (the change waits for them). */
  quarantined?: QuarantinedDetails[];
};

export type ChangeContext = Omit<ApplyStepInput, 'step' | 'idempotencyKey'>;

/**
 * Steps that cut access and must not wait behind joiner work: every disable (a leaver, a leave of
 * absence, a region rule, a mover's grace period ended), every delete (only leavers' accounts are
 * deleted, after the deletion delay) and a termination's revokes. Decided from the step and its
 * change alone, so a replay decides the same.
 */
export function isUrgentStep(step: Pick<PlanStep, 'action'>, ctx: Pick<ChangeContext, 'snapshot'>): boolean {
  if (step.action === 'disableAccount' || step.action === 'deleteAccount') return true;
  return step.action === 'revoke' && ctx.snapshot.status === 'terminated';
}

/** Where a step runs. Histories from before leavers-first scheduled every step on the app's queue. */
function placementOf(step: PlanStep, ctx: ChangeContext): Placement {
  if (!(isUrgentStep(step, ctx) && patched('leavers-first'))) return { urgency: 'normal' };
  return { urgency: 'urgent', priorityKey: step.action === 'disableAccount' ? DISABLE_PRIORITY : URGENT_PRIORITY };
}

/** A step's connector call and its undo (the undo runs where its step ran). */
type StepCalls = { apply(input: ApplyStepInput): Promise<StepResult>; undo(input: ApplyStepInput, seen: { result?: StepResult }): Promise<void> };

/**
 * Each step is its verb's activity (`ensureAccount`, `grant`, ...) with its summary, and its undo
 * the inverse verb, computed here (policy/undo-step.ts); an account the step may have created but
 * did not report is read first (`readAccount`).
 */
function namedCalls(step: PlanStep, ctx: ChangeContext): StepCalls {
  const placement = placementOf(step, ctx);
  return {
    apply: (input) => connectorActivities(step.app, placement, stepSummary(step))[step.action](input),
    async undo(input, seen) {
      let undo = undoOf(step, seen.result?.account);
      if (undo.kind === 'read-account') {
        const found = await connectorActivities(step.app, placement, `${step.app}: readAccount (undo)`).readAccount({ app: step.app, employeeId: ctx.employeeId, idempotencyKey: undoKey(input.idempotencyKey) });
        undo = undoOf(step, found?.account ?? null);
      }
      if (undo.kind !== 'step') return;
      const inverse = undo.step;
      await connectorActivities(step.app, placement, stepSummary(inverse, 'undo'))[inverse.action]({ ...input, idempotencyKey: undoKey(input.idempotencyKey), step: inverse });
    },
  };
}

/** Histories recorded before the named connector activities: every step through `applyStep`, every undo through `undoStep`. */
function legacyCalls(step: PlanStep, ctx: ChangeContext): StepCalls {
  const { applyStep, undoStep } = connectorActivities(step.app, placementOf(step, ctx));
  return { apply: (input) => applyStep(input), undo: async (input, seen) => void (await undoStep({ ...input, ...seen })) };
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return `${err.cause.type ?? 'Error'}: ${err.cause.message}`;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function waves(steps: PlanStep[]): PlanStep[][] {
  const out: PlanStep[][] = [];
  for (const step of steps) {
    const last = out[out.length - 1];
    if (last && last[0]!.action === step.action) last.push(step);
    else out.push([step]);
  }
  return out;
}

// Histories from before `saga-undo-found-done`: a step that found its change made forgot its undo.
const changedNothingBefore = (r: StepResult) => r.outcome === 'unchanged' || r.outcome === 'already-in-state' || r.outcome === 'action-required' || r.outcome === 'planned';

/**
 * Whether a step's undo is forgotten: only when the step wrote nothing for sure, or took over what
 * was there before. A plan plans a step only when its read found the change not made (an account
 * only where none was found, a grant only where not held, an enable only of a disabled account, a
 * disable only of an active one, a revoke only of what is held, an update only of the attributes that
 * differ), so a step that answers `unchanged` / `already-in-state` made that change itself in an
 * attempt whose answer was lost (a worker died after the application committed it), or someone
 * made it since the read: either way its undo returns the application to what the plan read.
 *   - `planned` (plan-only application) and `action-required` (nothing was called, or a collision
 *     was not taken over): nothing written, nothing to undo.
 *   - an adopted account (`updated`, adopted: an existing account without our key taken over) was
 *     the person's before: a rollback must not delete it.
 *   - a grant the plan could not know was not held (`mayBeHeld`: memberships unread) may be the
 *     person's from before: its `already-in-state` proves nothing, its undo is forgotten.
 *   - an account found `unchanged` where the application's correlation rule may adopt: the lost
 *     answer may have been an adoption's (the retry finds the account carrying our key), so it is
 *     not deleted: a rollback that leaves an account we made is undone by hand, a deleted
 *     pre-existing account is not.
 *   - ensureAccount of an account the plan knew is never deleted anyway (policy/undo-step.ts).
 * Histories from before keep the old rule: `unchanged` and `already-in-state` forgot the undo too.
 */
function forgetsUndo(step: PlanStep, r: StepResult): boolean {
  const before = changedNothingBefore(r);
  const mayHaveAdopted = r.outcome === 'unchanged' && step.action === 'ensureAccount' && step.correlation !== undefined && step.correlation.adopt !== 'never';
  const now = r.outcome === 'planned' || r.outcome === 'action-required' || r.adopted === true || mayHaveAdopted || (r.outcome === 'already-in-state' && step.mayBeHeld === true);
  // Asked only where the rules differ: a replay sees the same results, so asks at the same points.
  if (before === now) return now;
  return patched('saga-undo-found-done') ? now : before;
}

export async function applyPlan(ctx: ChangeContext, steps: PlanStep[], known: Record<string, AccountRef>): Promise<AppliedChange> {
  const saga = new Saga();
  const outcomes: StepOutcome[] = [];
  const accounts: Record<string, AccountRef> = { ...known };
  // Handles the steps of this change reported: newer than the plan's (an LDAP disable moves the
  // entry, so the revokes after it act on, and report, where it lives now).
  const reported: Record<string, AccountRef> = {};
  const blockedApps = new Set<string>();
  /** Applications found quarantined: their remaining steps wait (the change is planned again once released). */
  const quarantined = new Map<string, QuarantinedDetails>();
  /** Undo labels of the accounts this change created, by application; and the applications whose account went. */
  const created = new Map<string, string>();
  const removed = new Set<string>();
  let failed = false;
  const callsOf = patched('named-connector-activities') ? namedCalls : legacyCalls;

  for (const wave of waves(steps)) {
    if (failed) break;
    const byApp = new Map<string, PlanStep[]>();
    for (const step of wave) byApp.set(step.app, [...(byApp.get(step.app) ?? []), step]);
    await Promise.all(
      [...byApp].map(async ([app, appSteps]) => {
        for (const planned of appSteps) {
          if (failed) return;
          if (quarantined.has(app)) {
            outcomes.push({ app, action: planned.action, outcome: 'skipped', detail: `waiting: ${app} is quarantined`, ...(planned.entitlementId ? { entitlementId: planned.entitlementId } : {}) });
            continue;
          }
          if (blockedApps.has(app)) {
            outcomes.push({ app, action: planned.action, outcome: 'skipped', detail: 'no account in this application (see the ensureAccount step)' });
            continue;
          }
          const account = reported[app] ?? planned.account ?? accounts[app];
          const step: PlanStep = account ? { ...planned, account } : planned;
          const input: ApplyStepInput = { ...ctx, step, idempotencyKey: `${workflowInfo().workflowId}/${ctx.changeId}/${step.key}` };
          const calls = callsOf(step, ctx);
          // Registered before the step: a step that succeeded remotely but timed out is still undone.
          const seen: { result?: StepResult } = {};
          const undo = saga.register({ label: `undo ${step.key}`, undo: () => calls.undo(input, seen) });
          let result: StepResult;
          try {
            result = await calls.apply(input);
            seen.result = result;
          } catch (err) {
            // A quarantined application was not called: nothing to undo, and its steps wait instead of failing the change.
            const quarantine = quarantinedBy(err);
            if (quarantine) {
              saga.forget(undo);
              quarantined.set(app, quarantine);
              outcomes.push({ app, action: step.action, outcome: 'skipped', detail: `waiting: ${app} is quarantined`, ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}) });
              continue;
            }
            failed = true;
            outcomes.push({ app, action: step.action, outcome: 'failed', detail: failureMessage(err), ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}) });
            return;
          }
          // Applications run concurrently: forget this step's own undo, not whichever was registered last
          // (that could be another application's, which would then never be undone).
          if (forgetsUndo(step, result)) {
            if (patched('saga-forget-own')) saga.forget(undo);
            else saga.forgetLast();
          }
          if (result.account) accounts[app] = reported[app] = result.account;
          if (step.action === 'ensureAccount' && result.outcome === 'created') created.set(undo.label, app);
          if (step.action === 'deleteAccount') removed.add(app);
          if (result.outcome === 'action-required' && step.action === 'ensureAccount') blockedApps.add(app);
          outcomes.push({
            app,
            action: step.action,
            outcome: result.outcome,
            ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}),
            ...(result.account ? { accountId: result.account.id } : {}),
            ...(result.detail ? { detail: result.detail } : {}),
          });
        }
      }),
    );
  }
  const compensations = failed ? await saga.compensate() : [];
  // An account this change created and its compensation deleted is no longer the person's.
  for (const report of compensations) {
    const app = created.get(report.label);
    if (report.ok && app !== undefined) removed.add(app);
  }
  for (const app of removed) delete accounts[app];
  return { steps: outcomes, compensations, failed, accounts, ...(removed.size > 0 ? { removed: [...removed] } : {}), ...(quarantined.size > 0 ? { quarantined: [...quarantined.values()] } : {}) };
}
