// Applies the steps of one change in order, as a saga: each step's compensation is registered
// before the step runs; when a step fails for good, what this change did is undone in reverse.
// Steps run in waves of the same action (every disable before any revoke, every account before any
// grant); within a wave, different applications run concurrently and one application's steps in order.
//
// Leavers first (DESIGN.md §4): steps that cut access (every disable and delete, a termination's
// revokes) run on the application's urgent queue, `<baseQueue>-app-<app>-urgent`, polled by the
// same app activity worker with its own slots and rate limit, so they never queue behind a joiner
// surge's ensureAccount and grant tasks. They also carry a priority key (disables 1, the rest 2),
// which orders a mass termination's disables before its revokes where the server matches by
// priority (Temporal's new matcher: `matching.useNewMatcher`, see stack/temporal.ts).
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ApplyStepInput, PlanStep, StepResult } from '../activities/lifecycle-types.js';
import type { AccountRef } from '../connectors/contract.js';
import type { StepOutcome } from '../schemas/outcomes.js';
import { Saga, type CompensationReport } from './saga.js';
import { appTaskQueue, urgentAppTaskQueue } from './task-queues.js';

export type AppliedChange = { steps: StepOutcome[]; compensations: CompensationReport[]; failed: boolean; accounts: Record<string, AccountRef> };

export type ChangeContext = Omit<ApplyStepInput, 'step' | 'idempotencyKey'>;

/** Priority keys (1 runs first; unset is the server's default, 3). */
const DISABLE_PRIORITY = 1;
const URGENT_PRIORITY = 2;

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

type Urgency = 'normal' | 'urgent';

function connectorActivities(app: string, urgency: Urgency, action: PlanStep['action']) {
  const base = workflowInfo().taskQueue;
  return proxyActivities<Activities>({
    ...(urgency === 'urgent'
      ? { taskQueue: urgentAppTaskQueue(base, app), priority: { priorityKey: action === 'disableAccount' ? DISABLE_PRIORITY : URGENT_PRIORITY } }
      : { taskQueue: appTaskQueue(base, app) }),
    // A connector call is a few HTTP/LDAP requests of at most 5 s each; a task lost with a
    // stopped worker is retried after this.
    startToCloseTimeout: '20 seconds',
    scheduleToCloseTimeout: '15 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidRequestError', 'AuthError'] },
  });
}

/** Where a step runs. Histories from before leavers-first scheduled every step on the app's queue. */
function urgencyOf(step: PlanStep, ctx: ChangeContext): Urgency {
  return isUrgentStep(step, ctx) && patched('leavers-first') ? 'urgent' : 'normal';
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

// Plan-only applications report `planned`: nothing was written, so nothing to undo.
const changesNothing = (r: StepResult) => r.outcome === 'unchanged' || r.outcome === 'already-in-state' || r.outcome === 'action-required' || r.outcome === 'planned';

export async function applyPlan(ctx: ChangeContext, steps: PlanStep[], known: Record<string, AccountRef>): Promise<AppliedChange> {
  const saga = new Saga();
  const outcomes: StepOutcome[] = [];
  const accounts: Record<string, AccountRef> = { ...known };
  const blockedApps = new Set<string>();
  let failed = false;

  for (const wave of waves(steps)) {
    if (failed) break;
    const byApp = new Map<string, PlanStep[]>();
    for (const step of wave) byApp.set(step.app, [...(byApp.get(step.app) ?? []), step]);
    await Promise.all(
      [...byApp].map(async ([app, appSteps]) => {
        for (const planned of appSteps) {
          if (failed) return;
          if (blockedApps.has(app)) {
            outcomes.push({ app, action: planned.action, outcome: 'skipped', detail: 'no account in this application (see the ensureAccount step)' });
            continue;
          }
          const account = planned.account ?? accounts[app];
          const step: PlanStep = account ? { ...planned, account } : planned;
          const input: ApplyStepInput = { ...ctx, step, idempotencyKey: `${workflowInfo().workflowId}/${ctx.changeId}/${step.key}` };
          // The undo runs where its step ran.
          const { applyStep, undoStep } = connectorActivities(app, urgencyOf(step, ctx), step.action);
          // Registered before the step: a step that succeeded remotely but timed out is still undone.
          const seen: { result?: StepResult } = {};
          const undo = saga.register({ label: `undo ${step.key}`, undo: async () => void (await undoStep({ ...input, ...seen })) });
          let result: StepResult;
          try {
            result = await applyStep(input);
            seen.result = result;
          } catch (err) {
            failed = true;
            outcomes.push({ app, action: step.action, outcome: 'failed', detail: failureMessage(err), ...(step.entitlementId ? { entitlementId: step.entitlementId } : {}) });
            return;
          }
          // Applications run concurrently: forget this step's own undo, not whichever was registered last
          // (that could be another application's, which would then never be undone).
          if (changesNothing(result)) {
            if (patched('saga-forget-own')) saga.forget(undo);
            else saga.forgetLast();
          }
          if (result.account) accounts[app] = result.account;
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
  return { steps: outcomes, compensations, failed, accounts };
}
