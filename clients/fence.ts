// The fence as its clients see it: a change's permit for its destructive steps (asked by the
// identity workflow's fence activity), its state, and an operator's release or reject of a batch
// (the CLI and the API, where the operator is the authenticated caller).
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { fenceWorkflowId, getFenceState, rejectBatch, releaseBatch, requestPermit, type FenceBatch, type FenceState, type PermitAnswer, type PermitRequest } from '../workflows/fence-messages.js';

/**
 * Asks the fence for a permit (update-with-start on fence/<taskQueue>: the fence starts with its
 * first request); the request id is the update id, so a retried ask is answered once.
 */
export async function askFencePermit(client: Client, input: { fenceWorkflowId: string; taskQueue: string; request: PermitRequest }): Promise<PermitAnswer> {
  return client.workflow.executeUpdateWithStart(requestPermit, {
    args: [input.request],
    updateId: input.request.requestId,
    startWorkflowOperation: new WithStartWorkflowOperation('fence', { workflowId: input.fenceWorkflowId, taskQueue: input.taskQueue, args: [{}], workflowIdConflictPolicy: 'USE_EXISTING' }),
  });
}

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

