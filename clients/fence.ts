// The fence as operators' clients see it (the API, `provisioner status`): its state, read from the
// store, and an operator's release or reject of a batch or of one person in it (the operator is the
// authenticated caller). The decision is written in the store with its audit record; then each
// affected held workflow is told (`fenceDecision`). Permits are asked by the requestFencePermit
// activity (activities/fence.ts), never here.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { decideFence, fenceListing, type FenceDecided, type FencePerson, type Store } from '../store/index.js';
import { fenceDecision, fenceWorkflowId, type FenceState } from '../workflows/fence-messages.js';

/** How many held workflows are told at once after a decision. */
const SIGNALS_IN_FLIGHT = 32;

export async function fenceState(store: Store, taskQueue: string, options: { limit?: number } = {}): Promise<FenceState | undefined> {
  return fenceListing(store.pool, fenceWorkflowId(taskQueue), options);
}

/**
 * Releases or rejects a batch, or one person in it (`person`), as `operator`; a refusal (unknown or
 * decided batch, the same operator twice, nobody by that id held) throws FenceRefusedError with the
 * reason and writes nothing. The workflows the decision lets go (or rejects) are signalled once it
 * is committed; a workflow that has ended (terminated by an operator) no longer waits and is skipped.
 */
export async function decideFenceBatch(
  deps: { store: Store; client: Client },
  input: { taskQueue: string; kind: 'release' | 'reject'; batchId: string; operator: string; person?: FencePerson },
): Promise<FenceDecided> {
  const { person, ...rest } = input;
  const decided = await decideFence(deps.store, { fenceId: fenceWorkflowId(input.taskQueue), kind: rest.kind, batchId: rest.batchId, operator: rest.operator, ...(person ? { person } : {}) });
  const queue = [...decided.notify];
  const signalNext = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      await tell(deps.client, next.workflowId, next.decision);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIGNALS_IN_FLIGHT, queue.length) }, signalNext));
  return decided;
}

async function tell(client: Client, workflowId: string, decision: FenceDecided['notify'][number]['decision']): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.workflow.getHandle(workflowId).signal(fenceDecision, decision);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
