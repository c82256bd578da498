// A decision on an approval as its receivers (the API, the ITSM ingress) take it: routed by the
// approval id to the workflow that holds it and sent as the `approve` / `reject` update. The update's
// validator refuses the requester, the beneficiary, an ineligible approver and a decided approval
// before anything enters the workflow's history; the receiver audits the refused attempt (here).
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Store } from '../store/index.js';
import { DECISION_VERIFIED } from '../policy/grant-approvals.js';
import {
  APPROVAL_REFUSED,
  approvalWorkflowId,
  approve,
  refusalCodes,
  reject,
  type DecisionRequest,
  type DecisionResult,
  type RefusalCode,
} from '../workflows/approval-messages.js';

export type DecisionKind = 'approve' | 'reject';

export type DecisionAnswer =
  | { ok: true; result: DecisionResult; workflowId: string }
  | { ok: false; code: RefusalCode | 'no-such-workflow'; message: string; workflowId?: string };

function refusalOf(err: WorkflowUpdateFailedError): { code: RefusalCode; message: string } | undefined {
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== APPROVAL_REFUSED) return undefined;
  const detail = cause.details?.[0] as { code?: string } | undefined;
  const code = refusalCodes.find((c) => c === detail?.code) ?? 'not-eligible';
  return { code, message: cause.message };
}

/**
 * Sends the decision. `updateId` makes a repeat of the same delivery (a replayed Kafka event, a
 * retried HTTP call) return the first answer instead of deciding twice.
 */
export async function sendDecision(
  client: Client,
  kind: DecisionKind,
  request: DecisionRequest,
  options: { updateId?: string } = {},
): Promise<DecisionAnswer> {
  const workflowId = approvalWorkflowId(request.approvalId);
  if (!workflowId) return { ok: false, code: 'unknown-approval', message: `${request.approvalId} is not an approval id this system issues` };
  try {
    const result = await client.workflow.getHandle(workflowId).executeUpdate(kind === 'approve' ? approve : reject, {
      args: [request],
      ...(options.updateId ? { updateId: options.updateId } : {}),
    });
    return { ok: true, result, workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { ok: false, code: 'no-such-workflow', message: `no running workflow holds ${request.approvalId}`, workflowId };
    if (err instanceof WorkflowUpdateFailedError) {
      const refusal = refusalOf(err);
      if (refusal) return { ok: false, ...refusal, workflowId };
    }
    throw err;
  }
}

/** Who vouches for a decision: the API (a verified bearer token of the approver) or the ITSM ingress (a verified JWS). */
export type DecisionProof = { source: 'api'; tokenSubject: string } | { source: 'itsm'; eventId: string; keyId?: string };

/**
 * Records, before the decision is sent, that its receiver authenticated the approver: the API after
 * verifying the token, the ITSM ingress after verifying the JWS. A request grant counts a vote only
 * when this record exists for its approval, approver and decision, so a vote sent straight to a
 * workflow as a Temporal update never makes a grant pass. `idempotencyKey` keeps a retried delivery to one record.
 */
export async function recordVerifiedDecision(store: Store, kind: DecisionKind, request: DecisionRequest, proof: DecisionProof, idempotencyKey?: string): Promise<void> {
  const workflowId = approvalWorkflowId(request.approvalId);
  await store.audit({
    actor: { type: 'person', employeeId: request.approverId },
    action: DECISION_VERIFIED,
    reason: `${kind} verified via ${proof.source}`,
    ...(request.eventId ? { eventId: request.eventId } : {}),
    ...(workflowId ? { workflowId } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
    changes: [{ op: `approval.${kind}`, outcome: 'verified' }],
    // Approval ids of identity gates embed the beneficiary's employee id: sealed, under the approver's key.
    subject: { employeeId: request.approverId },
    personal: { approvalId: request.approvalId, decision: kind === 'approve' ? 'approved' : 'rejected', ...proof },
  });
}

/**
 * Sends the decision and audits a refusal (who tried, what, why). The accepted decision is audited
 * by the workflow that took it, with the approver and the comment.
 */
export async function decideApproval(
  deps: { client: Client; store?: Store },
  kind: DecisionKind,
  request: DecisionRequest,
  options: { updateId?: string } = {},
): Promise<DecisionAnswer> {
  const answer = await sendDecision(deps.client, kind, request, options);
  if (!answer.ok && deps.store) {
    await deps.store.audit({
      actor: { type: 'person', employeeId: request.approverId },
      action: 'approval.refused',
      // Approval ids of identity gates embed the beneficiary's employee id: the id goes in `personal`.
      reason: `${kind} refused (${answer.code}) via ${request.channel}`,
      ...(request.eventId ? { eventId: request.eventId, idempotencyKey: `${request.eventId}#refused` } : {}),
      ...(answer.workflowId ? { workflowId: answer.workflowId } : {}),
      changes: [{ op: `approval.${kind}`, outcome: answer.code }],
      // The validator's words can name people: sealed, under the approver's key.
      subject: { employeeId: request.approverId },
      personal: { approvalId: request.approvalId, message: answer.message.slice(0, 1000) },
    });
  }
  return answer;
}
