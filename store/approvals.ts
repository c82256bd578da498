// Approvals: each pending decision addressed by its approvalId. The database refuses a decision by
// the beneficiary or the requester (a check constraint), whatever the caller checked before.
// Decisions (votes, stages, escalation) are written only from the workflows' approval gates, by
// store/approval-gates.ts, which builds on the row shape and readers here.
import type { Db } from './db.js';
import { ensurePerson, openJson, personKey } from './person-keys.js';
import type { StoreTx } from './store.js';
import type { KeyEncryptionKeys } from './store-keys.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
export type ApprovalMode = 'sequential' | 'any-of' | 'n-of-m';

export type OpenApprovalInput = {
  approvalId: string;
  beneficiaryId: string;
  requesterId?: string;
  ticketId?: string;
  app: string;
  entitlementId: string;
  approverRule: string;
  deadline?: Date;
  /** Set by approval gates (store/approval-gates.ts); absent for a standalone approval. */
  workflowId?: string;
  stage?: number;
  mode?: ApprovalMode;
  required?: number;
  /** Employee ids who may decide it (the beneficiary and the requester never may, whatever this says). */
  eligible?: string[];
};

export type Approval = {
  approvalId: string;
  beneficiaryId: string;
  requesterId: string | null;
  ticketId: string | null;
  app: string;
  entitlementId: string;
  approverRule: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  decidedAt: Date | null;
  /** Undefined when there is none or it can no longer be read (the beneficiary was purged). */
  comment: string | undefined;
  deadline: Date | null;
  createdAt: Date;
  /** The workflow holding the approval (null for a standalone one), and the gate's shape. */
  workflowId: string | null;
  /** 0-based, as in workflows/approval-chain.ts. */
  stage: number | null;
  mode: ApprovalMode | null;
  required: number | null;
  eligible: string[];
  escalated: boolean;
  remindedAt: Date | null;
  /** Why it closed (expired, withdrawn, no eligible approver); null while pending or when decided by a vote. */
  reason: string | null;
};

export class ApprovalRefusedError extends Error {
  override readonly name = 'ApprovalRefusedError';
}

export async function openApproval(tx: StoreTx, input: OpenApprovalInput): Promise<{ created: boolean }> {
  const beneficiary = await ensurePerson(tx.client, tx.kek, input.beneficiaryId);
  const requester = input.requesterId ? await ensurePerson(tx.client, tx.kek, input.requesterId) : undefined;
  const { rowCount } = await tx.client.query(
    `insert into approvals (approval_id, person_id, requester_id, ticket_id, app, entitlement_id, approver_rule, deadline,
       workflow_id, stage, mode, required, eligible)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) on conflict (approval_id) do nothing`,
    [
      input.approvalId, beneficiary.personId, requester?.personId ?? null, input.ticketId ?? null, input.app, input.entitlementId, input.approverRule,
      input.deadline ?? null, input.workflowId ?? null, input.stage ?? null, input.mode ?? null, input.required ?? null, input.eligible ?? [],
    ],
  );
  return { created: rowCount === 1 };
}

/** The associated data a decision's comment is sealed to (under the beneficiary's key). */
export const commentContext = (approvalId: string): string => `approval-comment:${approvalId}`;

export type ApprovalRow = {
  approval_id: string; beneficiary: string; person_id: string; requester: string | null; ticket_id: string | null; app: string; entitlement_id: string;
  approver_rule: string; status: ApprovalStatus; decider: string | null; decided_at: Date | null; comment: Buffer | null; deadline: Date | null; created_at: Date;
  workflow_id: string | null; stage: number | null; mode: ApprovalMode | null; required: number | null; eligible: string[]; escalated: boolean;
  reminded_at: Date | null; reason: string | null;
};

/** The ApprovalRow columns, over `approvalFrom` (approvals a, beneficiary b, requester r, decider d). */
export const approvalColumns = `a.approval_id, b.employee_id as beneficiary, a.person_id, r.employee_id as requester, a.ticket_id, a.app,
    a.entitlement_id, a.approver_rule, a.status, d.employee_id as decider, a.decided_at, a.comment, a.deadline, a.created_at,
    a.workflow_id, a.stage, a.mode, a.required, a.eligible, a.escalated, a.reminded_at, a.reason`;
export const approvalFrom = `from approvals a join identities b on b.person_id = a.person_id
  left join identities r on r.person_id = a.requester_id left join identities d on d.person_id = a.decided_by`;
const approvalSelect = `select ${approvalColumns} ${approvalFrom}`;

export async function toApproval(db: Db, kek: KeyEncryptionKeys | undefined, row: ApprovalRow): Promise<Approval> {
  let comment: string | undefined;
  if (row.comment && kek) {
    const key = await personKey(db, kek, row.person_id);
    if (key) comment = String(openJson({ personId: row.person_id, key }, commentContext(row.approval_id), row.comment));
  }
  return {
    approvalId: row.approval_id, beneficiaryId: row.beneficiary, requesterId: row.requester, ticketId: row.ticket_id, app: row.app,
    entitlementId: row.entitlement_id, approverRule: row.approver_rule, status: row.status, decidedBy: row.decider, decidedAt: row.decided_at,
    comment, deadline: row.deadline, createdAt: row.created_at, workflowId: row.workflow_id, stage: row.stage, mode: row.mode, required: row.required,
    eligible: row.eligible, escalated: row.escalated, remindedAt: row.reminded_at, reason: row.reason,
  };
}

export async function getApproval(db: Db, kek: KeyEncryptionKeys | undefined, approvalId: string): Promise<Approval | undefined> {
  const { rows } = await db.query<ApprovalRow>(`${approvalSelect} where a.approval_id = $1`, [approvalId]);
  return rows[0] ? toApproval(db, kek, rows[0]) : undefined;
}

export async function pendingApprovals(db: Db): Promise<Approval[]> {
  const { rows } = await db.query<ApprovalRow>(`${approvalSelect} where a.status = 'pending' order by a.created_at`);
  return Promise.all(rows.map((r) => toApproval(db, undefined, r)));
}
