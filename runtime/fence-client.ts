// The fence as its clients see it: its state, and an operator's release or reject of a batch.
// Used by the CLI and the API (where the operator is the authenticated caller).
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { fenceWorkflowId, getFenceState, rejectBatch, releaseBatch, type FenceBatch, type FenceState } from '../workflows/fence-messages.js';

export async function fenceState(client: Client, taskQueue: string): Promise<FenceState | undefined> {
  try {
    return await client.workflow.getHandle(fenceWorkflowId(taskQueue)).query(getFenceState);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Releases or rejects a batch; a refusal (validator) comes back as an Error with the fence's reason. */
export async function decideFenceBatch(client: Client, taskQueue: string, kind: 'release' | 'reject', batchId: string, operator: string): Promise<FenceBatch> {
  try {
    return await client.workflow.getHandle(fenceWorkflowId(taskQueue)).executeUpdate(kind === 'release' ? releaseBatch : rejectBatch, { args: [{ batchId, operator }] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`fence ${kind} refused: ${err.cause?.message ?? err.message}`, { cause: err });
    if (err instanceof WorkflowNotFoundError) throw new Error(`there is no fence on task queue ${taskQueue} (nothing was ever held)`, { cause: err });
    throw err;
  }
}

