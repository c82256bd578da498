// Messages of access requests and approvals (docs/architecture.md#approvals), shared by the workflows,
// the ingress, the API, the CLI and the tests. Names are permanent once deployed.
//
// An approval is addressed by its `approvalId`, whether a ticket's or a sensitive birthright
// entitlement's; the id names the workflow that holds it, so a decision is routed without a lookup:
//   req-<ticketId>.<chain>.<stage>        → request/<ticketId>
//   idn-<employeeId>-<n>.<chain>.<stage>  → identity/<employeeId>
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalView, GateStatus } from '../policy/approval-chain.js';

export const accessRequestWorkflowId = (ticketId: string) => `request/${ticketId}`;

/** What the ITSM asked for, as the access request workflow receives it (no names or e-mails). */
export type AccessRequestInput = {
  ticketId: string;
  requesterId: string;
  beneficiaryId: string;
  app: string;
  entitlementId: string;
  /** Free text from the ticket: it travels encrypted (payload codec) and is never logged. */
  justification: string;
  /** ISO 8601 duration asked for; the entitlement's maxDuration caps it (a longer one is refused). */
  duration?: string;
  eventId: string;
  source: string;
  time: string;
};

/** A decision on one approval. The approver is the authenticated API caller or the ITSM event's approver. */
export type DecisionRequest = {
  approvalId: string;
  approverId: string;
  comment?: string;
  channel: 'api' | 'itsm';
  /** The ITSM event id, for a decision that came from Kafka. */
  eventId?: string;
};

export type DecisionResult = {
  approvalId: string;
  status: ApprovalView['status'];
  /** Distinct approvals counted so far, and how many it takes. */
  approvals: number;
  required: number;
  gateStatus: GateStatus;
};

/** Refusal codes of a decision (the update validators' answer; the caller audits them). */
export const refusalCodes = ['unknown-approval', 'not-pending', 'requester', 'beneficiary', 'not-eligible', 'already-voted'] as const;
export type RefusalCode = (typeof refusalCodes)[number];

/** The ApplicationFailure type a validator throws; its first detail is `{ code }`. */
export const APPROVAL_REFUSED = 'ApprovalRefused';

export const approve = defineUpdate<DecisionResult, [DecisionRequest]>('approve');
export const reject = defineUpdate<DecisionResult, [DecisionRequest]>('reject');

/** The approvals a workflow holds (pending and decided), for the API, the CLI and `status`. */
export const getApprovals = defineQuery<ApprovalView[]>('getApprovals');

export type RequestStatus = 'assessing' | 'awaiting-approval' | 'granted' | 'rejected' | 'blocked' | 'expired' | 'revoked';

export type RequestState = {
  ticketId: string;
  beneficiaryId: string;
  entitlement: string;
  status: RequestStatus;
  reasons: string[];
  expiresAt?: string;
  approvals: ApprovalView[];
};

export const getRequestState = defineQuery<RequestState>('getRequestState');

/** The request workflow hands an approved grant to the person's identity workflow, which owns its expiry. */
export type AccessGranted = {
  ticketId: string;
  eventId: string;
  requesterId: string;
  app: string;
  entitlementId: string;
  /** ISO timestamp the grant ends at (absent: the entitlement has no maxDuration and none was asked). */
  expiresAt?: string;
  approvalIds: string[];
};
export const accessGranted = defineSignal<[AccessGranted]>('accessGranted');

/** An ITSM revoke request: the person's request grants of the entitlement end now. */
export type AccessRevocationRequested = {
  ticketId: string;
  eventId: string;
  requesterId: string;
  app: string;
  entitlementId: string;
  source: string;
};
export const accessRevocationRequested = defineSignal<[AccessRevocationRequested]>('accessRevocationRequested');

const REQUEST_APPROVAL = /^req-([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.(\d+)\.(\d+)$/;
const IDENTITY_APPROVAL = /^idn-([A-Za-z0-9][A-Za-z0-9._-]{0,63})-(\d+)\.(\d+)\.(\d+)$/;

/** The workflow that holds an approval, from its id; undefined for an id no workflow of ours issues. */
export function approvalWorkflowId(approvalId: string): string | undefined {
  const req = REQUEST_APPROVAL.exec(approvalId);
  if (req) return accessRequestWorkflowId(req[1]!);
  const idn = IDENTITY_APPROVAL.exec(approvalId);
  if (idn) return `identity/${idn[1]!}`;
  return undefined;
}

/** The id prefix of a request's approvals (the chain and stage numbers follow). */
export const requestApprovalPrefix = (ticketId: string) => `req-${ticketId}`;
/** The id prefix of the n-th approval gate of an identity workflow. */
export const identityApprovalPrefix = (employeeId: string, n: number) => `idn-${employeeId}-${n}`;
