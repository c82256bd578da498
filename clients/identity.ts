// The identity workflow as its clients see it: an HR event handed to the person's workflow
// (`identity/<employeeId>`) by signalWithStart, which starts it if it is not running; an operator's
// retry of a change that could not be planned, the acceptance of a held snapshot, and a re-evaluation
// (reconciliation, policy rollout).
import type { Client } from '@temporalio/client';
import type { HrEvent } from '../schemas/events.js';
import type { identityLifecycle } from '../workflows/identity-lifecycle.js';
import { getState, hrEventReceived, identityWorkflowId, reevaluationRequested, resequenceRequested, retryRequested, type HrEventReceived, type ReevaluationRequest, type ResequenceRequest, type RetryRequest } from '../workflows/messages.js';
import { EmployeeId } from '../workflows/search-attributes.js';

/** Hands an HR event to the person's identity workflow; resolves once Temporal has it durably. */
export async function signalHrEvent(client: Client, taskQueue: string, event: HrEvent): Promise<void> {
  const received: HrEventReceived = { eventId: event.id, type: event.type, source: event.source, time: event.time, snapshot: event.data };
  await client.workflow.signalWithStart<typeof identityLifecycle, [HrEventReceived]>('identityLifecycle', {
    workflowId: identityWorkflowId(event.subject),
    taskQueue,
    args: [{ employeeId: event.subject }],
    signal: hrEventReceived,
    signalArgs: [received],
    typedSearchAttributes: [{ key: EmployeeId, value: event.subject }],
  });
}

/**
 * Asks the person's workflow to plan them again now (a reconciliation's `fix`, a policy rollout),
 * starting it if it is not running: it plans on the stored snapshot. Resolves once Temporal has it durably.
 */
export async function requestReevaluation(client: Client, taskQueue: string, employeeId: string, request: ReevaluationRequest): Promise<void> {
  await client.workflow.signalWithStart<typeof identityLifecycle, [ReevaluationRequest]>('identityLifecycle', {
    workflowId: identityWorkflowId(employeeId),
    taskQueue,
    args: [{ employeeId }],
    signal: reevaluationRequested,
    signalArgs: [request],
    typedSearchAttributes: [{ key: EmployeeId, value: employeeId }],
  });
}

/**
 * What an operator's ask found: the person's workflow, what was waiting (undefined: nothing), and
 * the same without change or event ids (they may embed the employee id), for the audit's clear text.
 */
export type OperatorAsk = { workflowId: string; waiting: string | undefined; summary?: string };

/**
 * Asks the person's workflow to try the change waiting for its retry, and the scheduled steps that
 * failed, now (`provisioner retry`); `waiting` is undefined, and nothing is signalled, when nothing waits.
 */
export async function requestRetry(client: Client, employeeId: string, request: RetryRequest): Promise<OperatorAsk> {
  const workflowId = identityWorkflowId(employeeId);
  const handle = client.workflow.getHandle(workflowId);
  const { retry, scheduled } = await handle.query(getState);
  const failedSteps = scheduled.filter((s) => (s.attempt ?? 0) > 0).map((s) => s.step.key);
  if (!retry && failedSteps.length === 0) return { workflowId, waiting: undefined };
  await handle.signal(retryRequested, request);
  const steps = failedSteps.length > 0 ? [`failed scheduled steps ${failedSteps.join(', ')}`] : [];
  const waiting = [...(retry ? [`change ${retry.changeId} (${retry.eventType} #${retry.sequence}, attempt ${retry.attempt}): ${retry.reason}`] : []), ...steps];
  const summary = [...(retry ? [`${retry.eventType} #${retry.sequence}, attempt ${retry.attempt}`] : []), ...steps];
  return { workflowId, waiting: waiting.join('; '), summary: summary.join('; ') };
}

/**
 * Accepts the person's held snapshot as their new sequence baseline (`provisioner identity
 * resequence`); `waiting` is undefined, and nothing is signalled, when no snapshot is held.
 */
export async function requestResequence(client: Client, employeeId: string, request: ResequenceRequest): Promise<OperatorAsk> {
  const workflowId = identityWorkflowId(employeeId);
  const handle = client.workflow.getHandle(workflowId);
  const { held } = await handle.query(getState);
  if (!held) return { workflowId, waiting: undefined };
  await handle.signal(resequenceRequested, request);
  return { workflowId, waiting: `${held.eventType} #${held.sequence} (event ${held.eventId})`, summary: `${held.eventType} #${held.sequence}` };
}
