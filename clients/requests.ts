// Access requests as their clients see them: a ticket starts its request workflow
// (`request/<ticketId>`) once, ever; a revocation is signalled to the beneficiary's identity
// workflow, which owns the grant; and a workflow's status, for decisions that arrive late.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { accessRequestWorkflowId, accessRevocationRequested, type AccessRequestInput, type AccessRevocationRequested } from '../workflows/approval-messages.js';
import type { identityLifecycle } from '../workflows/identity-lifecycle.js';
import { identityWorkflowId } from '../workflows/messages.js';
import { EmployeeId, TicketId } from '../workflows/search-attributes.js';

/** The workflow type registered in workflows/ (the function name is the type). */
export const ACCESS_REQUEST_WORKFLOW = 'accessRequest';
type AccessRequestWorkflow = (input: AccessRequestInput) => Promise<unknown>;

/** Starts the ticket's request workflow; a ticket that already has one (running or closed) starts nothing. */
export async function startAccessRequest(client: Client, taskQueue: string, input: AccessRequestInput): Promise<'started' | 'already-started'> {
  try {
    await client.workflow.start<AccessRequestWorkflow>(ACCESS_REQUEST_WORKFLOW, {
      workflowId: accessRequestWorkflowId(input.ticketId),
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: EmployeeId, value: input.beneficiaryId },
        { key: TicketId, value: input.ticketId },
      ],
      // One ticket, one workflow: neither a running nor a closed one is started again.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
    throw err;
  }
}

/** Signals a revocation to the beneficiary's identity workflow; `no-such-workflow` when the person has none. */
export async function signalRevocation(client: Client, beneficiaryId: string, revoke: AccessRevocationRequested): Promise<'signalled' | 'no-such-workflow'> {
  try {
    await client.workflow.getHandle(identityWorkflowId(beneficiaryId)).signal(accessRevocationRequested, revoke);
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'no-such-workflow';
    throw err;
  }
}

/**
 * Signals a revocation to the beneficiary's identity workflow, starting it when it is not running
 * (terminated by an operator, or its history lost): the started run plans from the stored snapshot.
 */
export async function signalRevocationWithStart(client: Client, taskQueue: string, beneficiaryId: string, revoke: AccessRevocationRequested): Promise<void> {
  await client.workflow.signalWithStart<typeof identityLifecycle, [AccessRevocationRequested]>('identityLifecycle', {
    workflowId: identityWorkflowId(beneficiaryId),
    taskQueue,
    args: [{ employeeId: beneficiaryId }],
    signal: accessRevocationRequested,
    signalArgs: [revoke],
    typedSearchAttributes: [{ key: EmployeeId, value: beneficiaryId }],
  });
}

/** The workflow's status (its last run), or undefined when Temporal never heard of it. */
export async function workflowStatus(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
