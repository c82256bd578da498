// Is a request grant backed by the approvals its policy requires, as the store recorded them?
// (docs: README "Grants checked against recorded approvals"). The identity workflow applies an
// `accessGranted` signal only after this says yes: a signal sent straight to a person's workflow
// with the Temporal client names a ticket, but only the access request workflow's activities write
// the assessment and the approvals of a ticket to the store, each vote with its approver.
//
// A vote counts only when the API or the ITSM ingress recorded that it verified that person's
// decision (an `approval.decision-verified` record, written after the token or the JWS was
// verified): a vote sent straight to the workflow as a Temporal update has none. The grant is
// bounded by what was approved: one grant per ticket (live or ended), no later end than the
// assessment allowed, the requester the request named.
//
// Pure: the policy, the grant, what the store holds for the ticket (its assessment, its approvals
// with their votes, the verified decisions, the ticket's grants) in; the first problem out, or undefined.
import { entitlementRef, type CompiledPolicy } from './compile.js';
import { employeeKey, includesEmployee, sameEmployee } from './employee-ids.js';

/** The audit action of a decision whose decider the API or the ITSM ingress authenticated (clients/approvals.ts recordVerifiedDecision). */
export const DECISION_VERIFIED = 'approval.decision-verified';

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
  votes: Array<{ approverId: string | null; decision: 'approved' | 'rejected'; /** When the workflow took it (ISO). */ at?: string | undefined }>;
};

export type GrantToCheck = {
  employeeId: string;
  ticketId: string;
  requesterId: string;
  app: string;
  entitlementId: string;
  approvalIds: readonly string[];
  /** When the grant ends (ISO); absent: no end. */
  expiresAt?: string | undefined;
};

/** One chain the assessment found (every rule, the entitlement's own and separation-of-duties reviews). */
export type AssessedChain = { rule: string; reason: string; /** Approvals in sequence (a sequential rule: one per approver). */ stages: number };

/** The ticket's `request.received` record for this beneficiary and entitlement. */
export type RecordedAssessment = {
  /** When it was recorded (ISO). */
  at: string;
  /** The requester the record names (its actor), when readable. */
  requesterId?: string | undefined;
  /** The assessed chains; undefined in records written before they were recorded. */
  chains?: readonly AssessedChain[] | undefined;
  /** How long the grant may last from its approval (ms); null: no end; undefined: an older record without it. */
  durationMs?: number | null | undefined;
};

/** A decision the API (token verified) or the ITSM ingress (JWS verified) recorded before sending it to the workflow. */
export type VerifiedDecision = { approvalId: string; approverId: string; decision: 'approved' | 'rejected' };

export type RecordedRequest = {
  /** The access request workflow of the ticket assessed this beneficiary's request for this entitlement as needing approval (its `request.received` record); undefined: it did not. */
  assessment: RecordedAssessment | undefined;
  approvals: readonly RecordedApproval[];
  /** The decisions on the ticket's approvals the API or the ITSM ingress verified. */
  verified: readonly VerifiedDecision[];
  /** How many request grants of this ticket the store holds, live or ended. */
  grantsOfTicket: number;
};

/**
 * How much later than the decisive vote (or the assessment) + the approved duration a grant may end:
 * the workflow computes the end after the vote is recorded (a worker restart in between delays it),
 * and the worker's clock may differ from the one that stamped the vote.
 */
export const GRANT_EXPIRY_SLACK_MS = 60 * 60 * 1000;

/** The access request workflow of a ticket (workflows/approval-messages.ts, repeated: policy/ does not import workflows/). */
const requestWorkflowId = (ticketId: string) => `request/${ticketId}`;
/** A ticket's approval of chain `chain` and stage `stage` (0-based; workflows/approval-messages.ts requestApprovalPrefix, policy/approval-chain.ts approvalIdOf). */
const requestApprovalId = (ticketId: string, chain: number, stage: number) => `req-${ticketId}.${chain + 1}.${stage + 1}`;

/** Why the grant is refused, or undefined when the store holds every approval its policy requires. */
export function grantApprovalProblem(policy: CompiledPolicy, grant: GrantToCheck, recorded: RecordedRequest): string | undefined {
  const ref = entitlementRef(grant.app, grant.entitlementId);
  const ticket = `ticket ${grant.ticketId}`;
  const ent = policy.entitlements.get(ref);
  if (!ent) return `${ref} is not an entitlement of policy ${policy.version}`;
  const assessment = recorded.assessment;
  if (!assessment) return `no access request for ${ref} was assessed under ${ticket}: the grant did not come from its access request`;
  if (assessment.requesterId !== undefined && !sameEmployee(assessment.requesterId, grant.requesterId)) return `the grant names another requester than the one ${ticket} was assessed for`;
  const ofTicket = recorded.approvals.filter((a) => a.workflowId === requestWorkflowId(grant.ticketId));
  const foreign = ofTicket.find((a) => !sameEmployee(a.beneficiaryId, grant.employeeId) || a.app !== grant.app || a.entitlementId !== grant.entitlementId);
  if (foreign) return `approval ${foreign.approvalId} of ${ticket} is for another person or entitlement than ${ref}`;
  const otherRequester = ofTicket.find((a) => a.requesterId !== null && !sameEmployee(a.requesterId, grant.requesterId));
  if (otherRequester) return `approval ${otherRequester.approvalId} of ${ticket} was asked for by another requester than the grant names`;
  const undecided = ofTicket.find((a) => a.status !== 'approved');
  if (undecided) return `approval ${undecided.approvalId} of ${ticket} is ${undecided.status}, not approved`;
  const known = new Set(ofTicket.map((a) => a.approvalId));
  const unknown = grant.approvalIds.find((id) => !known.has(id));
  if (unknown) return `approval ${unknown}, which the grant names, is not recorded as approved for ${ticket}`;

  if (assessment.chains) {
    // Every chain the assessment found, separation-of-duties reviews included: each stage approved.
    for (const [c, chain] of assessment.chains.entries()) {
      for (let stage = 0; stage < chain.stages; stage++) {
        const id = requestApprovalId(grant.ticketId, c, stage);
        if (!ofTicket.some((a) => a.approvalId === id && a.approverRule === chain.rule)) {
          return `${ref} needs approval ${chain.rule}${chain.reason === 'separation-of-duties' ? ' (separation-of-duties review)' : ''}${chain.stages > 1 ? ` (stage ${stage + 1} of ${chain.stages})` : ''}, and the store holds none approved for ${ticket}`;
        }
      }
    }
  } else if (ent.approval) {
    // A record written before the assessed chains were recorded: the entitlement's own rule only, every stage of it.
    const rule = policy.approvals.get(ent.approval);
    const stages = rule?.mode === 'sequential' ? rule.approvers.length : 1;
    for (let stage = 0; stage < stages; stage++) {
      if (!ofTicket.some((a) => a.approverRule === ent.approval && (a.stage ?? 0) === stage)) {
        return `${ref} needs approval ${ent.approval}${stages > 1 ? ` (stage ${stage + 1} of ${stages})` : ''}, and the store holds none approved for ${ticket}`;
      }
    }
  }
  // Every recorded approval carries the votes that approved it: eligible people, never the beneficiary
  // or the requester, each decision verified by the API or the ITSM ingress.
  for (const a of ofTicket) {
    const eligible = new Set(
      a.votes
        .filter((v) => v.decision === 'approved' && v.approverId !== null)
        .map((v) => employeeKey(v.approverId!))
        .filter((id) => includesEmployee(a.eligible, id) && !sameEmployee(id, grant.employeeId) && !sameEmployee(id, grant.requesterId)),
    );
    const verified = [...eligible].filter((id) => recorded.verified.some((d) => d.approvalId === a.approvalId && d.decision === 'approved' && sameEmployee(d.approverId, id)));
    const required = a.required ?? 1;
    if (eligible.size < required) return `approval ${a.approvalId} of ${ticket} has ${eligible.size} approving vote(s) from eligible approvers, and needs ${required}`;
    if (verified.length < required) {
      return `approval ${a.approvalId} of ${ticket} has ${verified.length} approving vote(s) the API or the ITSM ingress verified, and needs ${required}: a vote sent straight to the workflow does not count`;
    }
  }
  // Last, so a replay that also moves the end is refused for the end it asks.
  return expiryProblem(grant, assessment, ofTicket) ?? (recorded.grantsOfTicket > 0 ? `${ticket} already brought a grant of ${ref} (live or ended): a ticket grants once` : undefined);
}

/** The grant ends no later than the approved duration after the decisive vote (or the assessment, without approvals). */
function expiryProblem(grant: GrantToCheck, assessment: RecordedAssessment, approvals: readonly RecordedApproval[]): string | undefined {
  // null: the request was approved without an end; undefined: a record from before the duration was recorded (unbounded, as before).
  if (assessment.durationMs === undefined || assessment.durationMs === null) return undefined;
  const ticket = `ticket ${grant.ticketId}`;
  if (grant.expiresAt === undefined) return `the grant has no end, and ${ticket} was approved for ${assessment.durationMs} ms`;
  const ends = Date.parse(grant.expiresAt);
  if (Number.isNaN(ends)) return `the grant's end ${grant.expiresAt} is not a time`;
  const times = approvals.flatMap((a) => a.votes.filter((v) => v.decision === 'approved' && v.at !== undefined).map((v) => Date.parse(v.at!)));
  const from = Math.max(Date.parse(assessment.at), ...times.filter((t) => !Number.isNaN(t)));
  const latest = from + assessment.durationMs + GRANT_EXPIRY_SLACK_MS;
  if (ends > latest) return `the grant ends at ${grant.expiresAt}, later than ${ticket} was approved for (${assessment.durationMs} ms from ${new Date(from).toISOString()})`;
  return undefined;
}
