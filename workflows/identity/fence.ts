// The fence from a person's workflow: a change's fenced steps (removals, and grants where the policy
// fences them) ask the fence first (requestFencePermit: counted and held in the store); a held change
// waits for an operator's release or rejection of its batch or of this person (the `fenceDecision`
// signal), and what was rejected is reported, not applied. While held it also reads its decision
// from the store, after `recheckMs` and then less often, up to hourly (patch `fence-recheck-store`):
// a lost signal never holds a person forever.
import { CancellationScope, condition, getExternalWorkflowHandle, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PlanStep } from '../../activities/lifecycle-types.js';
import type { StepOutcome } from '../../schemas/outcomes.js';
import { applyPlan, type AppliedChange, type ChangeContext } from '../apply-plan.js';
import { fenceWorkflowId, permitWithdrawn, type FenceDecision, type PermitAnswer } from '../fence-messages.js';
import { ProvisioningStatus } from '../search-attributes.js';
import { readFenceDecision, requestFencePermit, withdrawFencePermit } from './activities.js';
import type { WaitingForApplications } from '../messages.js';
import { knownAccounts, type Identity } from './state.js';

/** How often a held change reads its decision from the store when the answer does not say (the activity's default). */
const RECHECK_MS = 5 * 60_000;
/** The longest wait between two reads of a long hold. */
const RECHECK_MAX_MS = 60 * 60_000;

/**
 * Applies the steps once the fence lets their destructive ones through; what it rejected is skipped
 * and reported. `resuming`: the wait for quarantined applications this change resumes after.
 */
export async function applyFenced(id: Identity, ctx: ChangeContext, source: string, steps: PlanStep[], resuming?: WaitingForApplications): Promise<AppliedChange> {
  const refused = await passFence(id, ctx, source, steps, resuming);
  const allowed = refused.length === 0 ? steps : steps.filter((s) => !s.fenced);
  const applied = await applyPlan(ctx, allowed, knownAccounts(id));
  return refused.length === 0 ? applied : { ...applied, steps: [...applied.steps, ...refused] };
}

/** Asks the fence for the change's destructive steps; when held, waits for the decision. Returns the refused steps. */
async function passFence(id: Identity, ctx: ChangeContext, source: string, steps: PlanStep[], resuming?: WaitingForApplications): Promise<StepOutcome[]> {
  const fenced = steps.filter((s) => s.fenced);
  if (fenced.length === 0 || !patched('fence-gate')) return [];
  const own = `${id.workflowId}/${ctx.changeId}`;
  // A change resumed after a quarantine: steps the change it resumes asked for are answered by that
  // ask again (the store counts nothing twice); only steps never asked for are asked and counted.
  // Histories from before asked for all of them as `<changeId>/after-quarantine-N`.
  const earlier = resuming?.fenceAsks?.length && patched('fence-ask-once-after-quarantine') ? resuming.fenceAsks : [];
  const asks: Array<{ requestId: string; steps: PlanStep[] }> = [];
  for (const step of fenced) {
    const requestId = earlier.find((a) => a.steps.includes(step.key))?.requestId ?? own;
    const ask = asks.find((a) => a.requestId === requestId);
    if (ask) ask.steps.push(step);
    else asks.push({ requestId, steps: [step] });
  }
  const refused: StepOutcome[] = [];
  for (const ask of asks) refused.push(...(await askFence(id, source, ask.steps, ask.requestId, ask.requestId !== own)));
  return refused;
}

/** One ask (`again`: the ask of the change this one resumes, answered as it was); when held, waits for the decision. Returns the refused steps. */
async function askFence(id: Identity, source: string, fenced: PlanStep[], requestId: string, again: boolean): Promise<StepOutcome[]> {
  const { employeeId, workflowId } = id;
  const fenceId = fenceWorkflowId(workflowInfo().taskQueue);
  const answer = await requestFencePermit({
    fenceWorkflowId: fenceId,
    taskQueue: workflowInfo().taskQueue,
    request: { requestId, workflowId, employeeId, source, steps: fenced.map((s) => ({ key: s.key, app: s.app, action: s.fenced!, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}) })) },
  });
  if (!again) id.fenceAsks.push({ requestId, steps: fenced.map((s) => s.key) });
  if (answer.permit === 'allowed') return [];
  // Asked again and held the first time: the operator's decision since then is the answer, without a second wait.
  const decided = again ? await readFenceDecision({ fenceWorkflowId: fenceId, requestId }) : undefined;
  const decision = decided ?? (await heldUntilDecided(id, { answer, fenceId, requestId, steps: fenced.map((s) => s.key) }));
  if (decision.decision === 'released') return [];
  const detail = `rejected by the fence: batch ${decision.batchId} (by ${decision.operators.join(', ')})`;
  return fenced.map((s) => ({ app: s.app, action: s.action, outcome: 'rejected' as const, detail, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}), ...(s.account ? { accountId: s.account.id } : {}) }));
}

/** Holds the change (getState and the search attribute say fence-held) until its batch, or this person, is decided. */
async function heldUntilDecided(id: Identity, held: { answer: Extract<PermitAnswer, { permit: 'held' }>; fenceId: string; requestId: string; steps: string[] }): Promise<FenceDecision> {
  const { employeeId, state, fenceDecisions } = id;
  const { answer, fenceId, requestId } = held;
  const before = state.status;
  state.fenceHold = { batchId: answer.batchId, steps: held.steps, reasons: answer.reasons };
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'fence-held' }]);
  try {
    if (patched('fence-recheck-store')) {
      // The signal ends the wait; so does the decision found in the store (the signal was lost).
      // Each read waits twice as long as the one before, up to an hour: a hold of weeks stays far
      // from Temporal's history limit.
      // A decision names its request: one meant for this person's earlier ask in the same (still open)
      // batch, told twice (read from the store, then signalled), does not end this wait.
      const decided = () => {
        const d = fenceDecisions[answer.batchId];
        return d !== undefined && (d.requestId === undefined || d.requestId === requestId);
      };
      let every = answer.recheckMs ?? RECHECK_MS;
      while (!(await condition(decided, every))) {
        const found = await readFenceDecision({ fenceWorkflowId: fenceId, requestId });
        if (found) fenceDecisions[answer.batchId] = found;
        every = Math.min(2 * every, Math.max(answer.recheckMs ?? RECHECK_MS, RECHECK_MAX_MS));
      }
    } else await condition(() => fenceDecisions[answer.batchId] !== undefined);
  } catch (err) {
    // Superseded while held: the fence no longer lists this request (it holds in the store now; runs from before told the fence workflow).
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        patched('fence-in-store') ? withdrawFencePermit({ fenceWorkflowId: fenceId, requestId, employeeId }) : getExternalWorkflowHandle(fenceId).signal(permitWithdrawn, { requestId }).catch(() => undefined),
      );
    }
    throw err;
  } finally {
    delete state.fenceHold;
  }
  const decision = fenceDecisions[answer.batchId]!;
  delete fenceDecisions[answer.batchId];
  state.status = before;
  upsertSearchAttributes([{ key: ProvisioningStatus, value: state.status }]);
  return decision;
}
