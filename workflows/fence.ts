// The fence (docs/architecture.md#fence): one long-lived workflow per deployment, `fence/<taskQueue>`, that every
// destructive step asks first (update `requestPermit`, sent with start by the requestFencePermit
// activity). Held requests wait in a batch until operators release or reject it (updates
// `releaseBatch`, `rejectBatch` with validators); the fence then signals `fenceDecision` to each
// held identity workflow. Its state is a workflow's: it survives worker restarts and is carried
// across continue-as-new. Visible in the Temporal UI: search attribute ProvisioningStatus
// (fence-holding | fence-clear), memo (open batches and the first held requests, fence-logic.ts
// fenceMemo: sealed by the payload codec, read through the codec endpoint) and the query getFenceState.
import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, patched, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { decideBatch, decidePermit, emptyFence, fenceMemo, fenceState, refusal, withdraw, type Decided, type FenceModel } from './fence-logic.js';
import { fenceDecision, getFenceState, permitWithdrawn, rejectBatch, releaseBatch, requestPermit } from './fence-messages.js';
import { ProvisioningStatus } from './search-attributes.js';

export type FenceInput = { carried?: FenceModel };

export async function fence(input: FenceInput = {}): Promise<void> {
  const m: FenceModel = input.carried ?? emptyFence();
  // Runs from before this change showed counts only, and only when a count changed.
  const listsHeld = patched('fence-memo-lists-held');
  let shown = '';
  const show = () => {
    const memo = fenceMemo(m);
    const now = listsHeld ? JSON.stringify(memo) : JSON.stringify({ held: memo.held.requests, open: memo.openBatches });
    if (now === shown) return;
    shown = now;
    upsertSearchAttributes([{ key: ProvisioningStatus, value: m.held.length > 0 ? 'fence-holding' : 'fence-clear' }]);
    upsertMemo(listsHeld ? memo : { heldRequests: memo.held.requests, openBatches: memo.openBatches });
  };
  const notify = async ({ notify }: Decided) => {
    // A person's workflow that has ended (terminated by an operator) no longer waits: skip it.
    await Promise.all(notify.map(({ workflowId, decision }) => getExternalWorkflowHandle(workflowId).signal(fenceDecision, decision).catch(() => undefined)));
  };
  const validate = (kind: 'release' | 'reject') => (d: Parameters<typeof refusal>[1]) => {
    const why = refusal(m, d, kind);
    if (why) throw new Error(why);
  };

  setHandler(
    requestPermit,
    (req) => {
      const answer = decidePermit(m, req, Date.now());
      show();
      return answer;
    },
    {
      validator: (req) => {
        if (!req || !req.requestId || !req.workflowId || !Array.isArray(req.steps) || req.steps.length === 0) throw new Error('a permit request names its request, workflow and steps');
        if (!(req.windowMs > 0)) throw new Error('a permit request carries the window');
      },
    },
  );
  setHandler(
    releaseBatch,
    async (d) => {
      const decided = decideBatch(m, d, 'release', Date.now());
      show();
      await notify(decided);
      return decided.batch;
    },
    { validator: validate('release') },
  );
  setHandler(
    rejectBatch,
    async (d) => {
      const decided = decideBatch(m, d, 'reject', Date.now());
      show();
      await notify(decided);
      return decided.batch;
    },
    { validator: validate('reject') },
  );
  setHandler(permitWithdrawn, ({ requestId }) => {
    withdraw(m, requestId);
    show();
  });
  setHandler(getFenceState, () => fenceState(m, Date.now()));

  show();
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 10_000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof fence>({ carried: m });
}
