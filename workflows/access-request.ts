// One workflow per ITSM ticket (`request/<ticketId>`): the policy assesses the request
// (eligibility, separation of duties, maximum duration), its approval chain runs (decided by the
// `approve` / `reject` updates, reminded, escalated, rejected at the deadline), and an approved
// grant goes to the person's identity workflow, which applies it and owns its expiry.
import { allHandlersFinished, condition, getExternalWorkflowHandle, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { bookkeepingOptions } from './activity-options.js';
import type { Outcome } from '../schemas/outcomes.js';
import { drain, nextDue, openGate, tick, viewOf, type Gate } from '../policy/approval-chain.js';
import { handleApprovals } from './approval-handlers.js';
import { accessGranted, getRequestState, requestApprovalPrefix, type AccessRequestInput, type RequestState } from './approval-messages.js';
import { identityWorkflowId } from './messages.js';
import { assessThroughQueues } from './plan-change.js';
import { ProvisioningStatus } from './search-attributes.js';

const { recordApprovalEvents, publishOutcome } = proxyActivities<Activities>(bookkeepingOptions);

export async function accessRequest(input: AccessRequestInput): Promise<RequestState> {
  const { ticketId, beneficiaryId, requesterId } = input;
  const workflowId = workflowInfo().workflowId;
  const state: RequestState = { ticketId, beneficiaryId, entitlement: `${input.app}:${input.entitlementId}`, status: 'assessing', reasons: [], approvals: [] };
  // The request's one gate, once the assessment has opened it.
  const held: Gate[] = [];
  handleApprovals(() => held);
  setHandler(getRequestState, () => ({ ...state, approvals: held.flatMap(viewOf) }));

  const setStatus = (status: RequestState['status']) => {
    state.status = status;
    upsertSearchAttributes([{ key: ProvisioningStatus, value: status }]);
  };
  setStatus('assessing');

  const assessment = await assessThroughQueues(input);
  const policyVersion = assessment.policyVersion;
  if (assessment.verdict === 'blocked') {
    state.reasons = assessment.reasons;
    setStatus('blocked');
    await finish('blocked', `blocked by policy: ${assessment.reasons.join('; ')}`);
    return state;
  }
  state.reasons = assessment.notes;

  const open = openGate({ idPrefix: requestApprovalPrefix(ticketId), beneficiaryId, requesterId, chains: assessment.chains }, Date.now());
  held.push(open);
  if (open.status === 'pending') setStatus('awaiting-approval');
  for (;;) {
    // Decisions can arrive while the last ones are being recorded: record until nothing is left.
    const events = drain(open);
    if (events.length > 0) {
      await recordApprovalEvents({ workflowId, beneficiaryId, requesterId, ticketId, policyVersion, events });
      continue;
    }
    if (open.status !== 'pending') break;
    const due = nextDue(open);
    const changed = () => open.outbox.length > 0 || open.status !== 'pending';
    if (due === undefined) await condition(changed);
    else if (!(await condition(changed, Math.max(1, due - Date.now())))) tick(open, Date.now());
  }

  if (open.status !== 'approved') {
    state.reasons = [...state.reasons, ...open.reasons];
    setStatus(open.status === 'expired' ? 'expired' : 'rejected');
    await finish('rejected', open.reasons.join('; '));
  } else {
    // The grant's time starts when it is granted, not when it was asked for.
    const expiresAt = assessment.durationMs !== undefined ? new Date(Date.now() + assessment.durationMs).toISOString() : undefined;
    if (expiresAt) state.expiresAt = expiresAt;
    await getExternalWorkflowHandle(identityWorkflowId(beneficiaryId)).signal(accessGranted, {
      ticketId,
      eventId: input.eventId,
      requesterId,
      app: input.app,
      entitlementId: input.entitlementId,
      ...(expiresAt ? { expiresAt } : {}),
      approvalIds: open.approvals.filter((a) => a.status === 'approved').map((a) => a.approvalId),
    });
    // The identity workflow publishes the grant's outcome (with this ticket id) once it is applied.
    setStatus('granted');
  }
  await condition(allHandlersFinished);
  return state;

  async function finish(status: Extract<Outcome['status'], 'blocked' | 'rejected'>, reason: string): Promise<void> {
    await publishOutcome({
      changeId: `${workflowId}/${input.eventId}`,
      employeeId: beneficiaryId,
      ticketId,
      eventId: input.eventId,
      eventType: 'itsm.access.requested',
      sequence: 0,
      status,
      policyVersion,
      workflowId,
      steps: [{ app: input.app, action: 'grant', outcome: 'rejected', entitlementId: input.entitlementId, detail: reason.slice(0, 1000) }],
      reason: reason.slice(0, 1000),
      completedAt: new Date().toISOString(),
    });
  }
}
