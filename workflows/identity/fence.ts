// The fence from a person's workflow: a change's fenced steps (removals, and grants where the policy
// fences them) ask the fence first (requestFencePermit: counted and held in the store); a held change
// waits for an operator's release or rejection of its batch or of this person (the `fenceDecision`
// signal), and what was rejected is reported, not applied. While held it also reads its decision
// from the store every `recheckMs` (patch `fence-recheck-store`): a lost signal never holds a person forever.
import { CancellationScope, condition, getExternalWorkflowHandle, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PlanStep } from '../../activities/lifecycle-types.js';
import type { StepOutcome } from '../../schemas/outcomes.js';
import { applyPlan, type AppliedChange, type ChangeContext } from '../apply-plan.js';
import { fenceWorkflowId, permitWithdrawn } from '../fence-messages.js';
import { ProvisioningStatus } from '../search-attributes.js';
import { readFenceDecision, requestFencePermit, withdrawFencePermit } from './activities.js';
import { knownAccounts, type Identity } from './state.js';

/** How often a held change reads its decision from the store when the answer does not say (the activity's default). */
const RECHECK_MS = 5 * 60_000;

/** Applies the steps once the fence lets their destructive ones through; what it rejected is skipped and reported. */
export async function applyFenced(id: Identity, ctx: ChangeContext, source: string, steps: PlanStep[]): Promise<AppliedChange> {
  const refused = await passFence(id, ctx, source, steps);
  const allowed = refused.length === 0 ? steps : steps.filter((s) => !s.fenced);
  const applied = await applyPlan(ctx, allowed, knownAccounts(id));
  return refused.length === 0 ? applied : { ...applied, steps: [...applied.steps, ...refused] };
}

/** Asks the fence for the change's destructive steps; when held, waits for the batch's decision. Returns the refused steps. */
async function passFence(id: Identity, ctx: ChangeContext, source: string, steps: PlanStep[]): Promise<StepOutcome[]> {
  const { employeeId, workflowId, state, fenceDecisions } = id;
  const fenced = steps.filter((s) => s.fenced);
  if (fenced.length === 0 || !patched('fence-gate')) return [];
  const requestId = `${workflowId}/${ctx.changeId}`;
  const fenceId = fenceWorkflowId(workflowInfo().taskQueue);
  const answer = await requestFencePermit({
    fenceWorkflowId: fenceId,
    taskQueue: workflowInfo().taskQueue,
    request: { requestId, workflowId, employeeId, source, steps: fenced.map((s) => ({ key: s.key, app: s.app, action: s.fenced!, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}) })) },
  });
  if (answer.permit === 'allowed') return [];
  const before = state.status;
  state.fenceHold = { batchId: answer.batchId, steps: fenced.map((s) => s.key), reasons: answer.reasons };
  upsertSearchAttributes([{ key: ProvisioningStatus, value: 'fence-held' }]);
  try {
    if (patched('fence-recheck-store')) {
      // The signal ends the wait; so does the decision found in the store (the signal was lost).
      while (!(await condition(() => fenceDecisions[answer.batchId] !== undefined, answer.recheckMs ?? RECHECK_MS))) {
        const found = await readFenceDecision({ fenceWorkflowId: fenceId, requestId });
        if (found) fenceDecisions[answer.batchId] = found;
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
  if (decision.decision === 'released') return [];
  const detail = `rejected by the fence: batch ${decision.batchId} (by ${decision.operators.join(', ')})`;
  return fenced.map((s) => ({ app: s.app, action: s.action, outcome: 'rejected' as const, detail, ...(s.entitlementId ? { entitlementId: s.entitlementId } : {}), ...(s.account ? { accountId: s.account.id } : {}) }));
}
