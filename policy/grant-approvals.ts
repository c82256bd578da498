// Is a request grant backed by the approvals its policy requires, as the store recorded them?
// (docs: README "Grants checked against recorded approvals"). The identity workflow applies an
// `accessGranted` signal only after this says yes: a signal sent straight to a person's workflow
// with the Temporal client names a ticket, but only the access request workflow's activities write
// the assessment and the approvals of a ticket to the store, each vote with its approver.
//
// Pure: the policy, the grant, what the store holds for the ticket (its assessment, its approvals
// with their votes) in; the first problem out, or undefined.
import { entitlementRef, type CompiledPolicy } from './compile.js';
import { employeeKey, includesEmployee, sameEmployee } from './employee-ids.js';

/** One approval of the ticket as the store recorded it (store/approval-gates.ts). */
export type RecordedApproval = {
  approvalId: string;
  workflowId: string | null;
  beneficiaryId: string;
  requesterId: string | null;
  app: string;
  entitlementId: string;
  approverRule: string;
  status: string;
  /** 0-based stage of its chain. */
  stage: number | null;
  required: number | null;
  eligible: string[];
  votes: Array<{ approverId: string | null; decision: 'approved' | 'rejected' }>;
};

export type GrantToCheck = {
  employeeId: string;
  ticketId: string;
  requesterId: string;
  app: string;
  entitlementId: string;
  approvalIds: readonly string[];
};

export type RecordedRequest = {
  /** The access request workflow of the ticket assessed this beneficiary's request for this entitlement as needing approval (its `request.received` record). */
  assessed: boolean;
  approvals: readonly RecordedApproval[];
};

/** The access request workflow of a ticket (workflows/approval-messages.ts, repeated: policy/ does not import workflows/). */
const requestWorkflowId = (ticketId: string) => `request/${ticketId}`;

/** Why the grant is refused, or undefined when the store holds every approval its policy requires. */
export function grantApprovalProblem(policy: CompiledPolicy, grant: GrantToCheck, recorded: RecordedRequest): string | undefined {
  const ref = entitlementRef(grant.app, grant.entitlementId);
  const ticket = `ticket ${grant.ticketId}`;
  const ent = policy.entitlements.get(ref);
  if (!ent) return `${ref} is not an entitlement of policy ${policy.version}`;
  if (!recorded.assessed) return `no access request for ${ref} was assessed under ${ticket}: the grant did not come from its access request`;
  const ofTicket = recorded.approvals.filter((a) => a.workflowId === requestWorkflowId(grant.ticketId));
  const foreign = ofTicket.find((a) => !sameEmployee(a.beneficiaryId, grant.employeeId) || a.app !== grant.app || a.entitlementId !== grant.entitlementId);
  if (foreign) return `approval ${foreign.approvalId} of ${ticket} is for another person or entitlement than ${ref}`;
  const undecided = ofTicket.find((a) => a.status !== 'approved');
  if (undecided) return `approval ${undecided.approvalId} of ${ticket} is ${undecided.status}, not approved`;
  const known = new Set(ofTicket.map((a) => a.approvalId));
  const unknown = grant.approvalIds.find((id) => !known.has(id));
  if (unknown) return `approval ${unknown}, which the grant names, is not recorded as approved for ${ticket}`;

  // The entitlement's own rule: every stage of it (a sequential rule has one per approver).
  if (ent.approval) {
    const rule = policy.approvals.get(ent.approval);
    const stages = rule?.mode === 'sequential' ? rule.approvers.length : 1;
    for (let stage = 0; stage < stages; stage++) {
      if (!ofTicket.some((a) => a.approverRule === ent.approval && (a.stage ?? 0) === stage)) {
        return `${ref} needs approval ${ent.approval}${stages > 1 ? ` (stage ${stage + 1} of ${stages})` : ''}, and the store holds none approved for ${ticket}`;
      }
    }
  }
  // Every recorded approval carries the votes that approved it: eligible people, never the beneficiary or the requester.
  for (const a of ofTicket) {
    const voters = new Set(
      a.votes
        .filter((v) => v.decision === 'approved' && v.approverId !== null)
        .map((v) => employeeKey(v.approverId!))
        .filter((id) => includesEmployee(a.eligible, id) && !sameEmployee(id, grant.employeeId) && !sameEmployee(id, grant.requesterId)),
    );
    const required = a.required ?? 1;
    if (voters.size < required) return `approval ${a.approvalId} of ${ticket} has ${voters.size} approving vote(s) from eligible approvers, and needs ${required}`;
  }
  return undefined;
}
