// What the workflows' approval gates (workflows/approval-chain.ts) did, as the store keeps it: each
// ApprovalEvent drained from a gate's outbox becomes a row change and its audit record, committed
// together. Every event applies idempotently, so a retried activity changes nothing the second time
// and (since `changed` is false then) appends no second record; the idempotency keys guard the same
// way should a record ever be written without its change.
//
// Nobody votes on their own access or their own request: refused here (ApprovalRefusedError), by a
// trigger on approval_votes and by the check on approvals.decided_by, whatever the workflow checked.
import type { ApprovalEvent } from '../policy/approval-chain.js';
import { sameEmployee } from '../policy/employee-ids.js';
import type { Actor, AuditEntry } from './audit-record.js';
import type { Db } from './db.js';
import {
  approvalColumns,
  approvalFrom,
  ApprovalRefusedError,
  commentContext,
  openApproval,
  toApproval,
  type Approval,
  type ApprovalRow,
  type ApprovalStatus,
} from './approvals.js';
import { ensurePerson, openJson, personKey, sealJson } from './person-keys.js';
import type { Store, StoreTx } from './store.js';
import type { KeyEncryptionKeys } from './store-keys.js';

/** Whose gate the events come from: the workflow, the person who would get the access, who asked. */
export type ApprovalContext = { workflowId: string; beneficiaryId: string; requesterId?: string; ticketId?: string; policyVersion?: string };

/** What applying an event did, and to which entitlement (for its audit record). */
export type AppliedApprovalEvent = { changed: boolean; app: string; entitlementId: string };

export type ApprovalVote = {
  /** Null once the approver was purged. */
  approverId: string | null;
  decision: 'approved' | 'rejected';
  channel: 'api' | 'itsm';
  eventId: string | null;
  decidedAt: Date;
  /** Undefined when there is none or it can no longer be read (the beneficiary was purged, no KEK given). */
  comment: string | undefined;
};

/** An approval with how many votes it has so far. */
export type ApprovalSummary = Approval & { votes: number };
export type ApprovalWithVotes = Approval & { votes: ApprovalVote[] };
export type ApprovalListFilter = { status?: ApprovalStatus; beneficiaryId?: string; ticketId?: string; limit?: number };

const SYSTEM: Actor = { type: 'system', id: 'approval-gate' };

/** A vote's comment is sealed under the beneficiary's key, bound to its approval. */
const voteCommentContext = (approvalId: string): string => `approval-vote-comment:${approvalId}`;

function splitEntitlement(ref: string): { app: string; entitlementId: string } {
  const i = ref.indexOf(':');
  if (i <= 0 || i === ref.length - 1) throw new RangeError(`entitlement "${ref}" is not of the form app:id`);
  return { app: ref.slice(0, i), entitlementId: ref.slice(i + 1) };
}

type LockedApproval = { person_id: string; requester_id: string | null; app: string; entitlement_id: string; status: ApprovalStatus };

async function lockApproval(tx: StoreTx, approvalId: string): Promise<LockedApproval> {
  const { rows } = await tx.client.query<LockedApproval>(
    'select person_id, requester_id, app, entitlement_id, status from approvals where approval_id = $1 for update',
    [approvalId],
  );
  if (!rows[0]) throw new RangeError(`no approval ${approvalId} in the store: its opened event was not recorded (or its beneficiary was purged)`);
  return rows[0];
}

const isCheckViolation = (err: unknown): boolean => (err as { code?: string }).code === '23514';

/**
 * Applies one gate event. Idempotent: a repeat of the same event reports `changed: false`.
 * A vote by the beneficiary or the requester throws ApprovalRefusedError (the transaction then rolls back).
 */
export async function applyApprovalEvent(tx: StoreTx, ctx: ApprovalContext, event: ApprovalEvent): Promise<AppliedApprovalEvent> {
  if (event.kind === 'opened') {
    const target = splitEntitlement(event.entitlement);
    const { created } = await openApproval(tx, {
      approvalId: event.approvalId,
      beneficiaryId: ctx.beneficiaryId,
      ...(ctx.requesterId ? { requesterId: ctx.requesterId } : {}),
      ...(ctx.ticketId ? { ticketId: ctx.ticketId } : {}),
      app: target.app,
      entitlementId: target.entitlementId,
      approverRule: event.rule,
      deadline: new Date(event.deadline),
      workflowId: ctx.workflowId,
      stage: event.stage,
      mode: event.mode,
      required: event.required,
      eligible: event.eligible,
    });
    return { changed: created, ...target };
  }

  const row = await lockApproval(tx, event.approvalId);
  const target = { app: row.app, entitlementId: row.entitlement_id };
  switch (event.kind) {
    case 'decided': {
      const { vote } = event;
      const refuse = () => new ApprovalRefusedError(`approval ${event.approvalId}: the beneficiary or the requester cannot vote on it`);
      if (sameEmployee(vote.approverId, ctx.beneficiaryId) || sameEmployee(vote.approverId, ctx.requesterId)) throw refuse();
      const approver = await ensurePerson(tx.client, tx.kek, vote.approverId);
      if (approver.personId === row.person_id || approver.personId === row.requester_id) throw refuse();
      let voteComment: Buffer | null = null;
      let approvalComment: Buffer | null = null;
      if (vote.comment) {
        const key = await personKey(tx.client, tx.kek, row.person_id);
        if (!key) throw new RangeError(`approval ${event.approvalId}: its beneficiary was purged`);
        const beneficiary = { personId: row.person_id, key };
        voteComment = sealJson(beneficiary, voteCommentContext(event.approvalId), vote.comment);
        approvalComment = sealJson(beneficiary, commentContext(event.approvalId), vote.comment);
      }
      try {
        const inserted = await tx.client.query(
          `insert into approval_votes (approval_id, approver, decision, comment, channel, event_id, decided_at)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (approval_id, approver) do nothing`,
          [event.approvalId, approver.personId, vote.decision, voteComment, vote.channel, vote.eventId ?? null, new Date(vote.at)],
        );
        let decided = 0;
        if (event.status === 'approved' || event.status === 'rejected') {
          const updated = await tx.client.query(
            `update approvals set status = $2, decided_by = $3, decided_at = $4, comment = $5 where approval_id = $1 and status = 'pending'`,
            [event.approvalId, event.status, approver.personId, new Date(vote.at), approvalComment],
          );
          decided = updated.rowCount ?? 0;
        }
        return { changed: inserted.rowCount === 1 || decided === 1, ...target };
      } catch (err) {
        if (isCheckViolation(err)) throw new ApprovalRefusedError(`approval ${event.approvalId}: the beneficiary or the requester cannot vote on it`, { cause: err });
        throw err;
      }
    }
    case 'reminded': {
      const { rowCount } = await tx.client.query('update approvals set reminded_at = now() where approval_id = $1 and reminded_at is null', [event.approvalId]);
      return { changed: rowCount === 1, ...target };
    }
    case 'escalated': {
      const { rowCount } = await tx.client.query(
        'update approvals set eligible = $2, deadline = $3, escalated = true where approval_id = $1 and not escalated',
        [event.approvalId, event.eligible, new Date(event.deadline)],
      );
      return { changed: rowCount === 1, ...target };
    }
    case 'closed': {
      const { rowCount } = await tx.client.query(
        `update approvals set status = $2, reason = $3, decided_at = now() where approval_id = $1 and status = 'pending'`,
        [event.approvalId, event.status, event.reason],
      );
      return { changed: rowCount === 1, ...target };
    }
  }
}

/**
 * The text with these people's employee ids replaced by their roles: an identity gate's approval id
 * (`idn-<employeeId>-<n>.<chain>.<stage>`) names its beneficiary, and an audit record's clear fields
 * must not name the people it pseudonymises.
 */
function withoutIds(text: string, people: Array<[string | undefined, string]>): string {
  let out = text;
  for (const [id, role] of people) {
    if (!id) continue;
    out = out.replace(new RegExp(`(?<![A-Za-z0-9])${id.replace(/[.]/g, '\\.')}(?![A-Za-z0-9])`, 'g'), `(${role})`);
  }
  return out;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The audit record of one applied event. `target` is the entitlement the approval is for (from
 * applyApprovalEvent; an opened event carries its own). Reasons name approvals, rules and counts,
 * never people: the approval id, comments, eligible approvers and close reasons go in `personal`.
 */
export function approvalEventAudit(ctx: ApprovalContext, event: ApprovalEvent, target?: { app: string; entitlementId: string }): AuditEntry {
  const entitlement = event.kind === 'opened' ? splitEntitlement(event.entitlement) : target;
  const approverId = event.kind === 'decided' ? event.vote.approverId : undefined;
  const label = withoutIds(event.approvalId, [[ctx.beneficiaryId, 'beneficiary'], [ctx.requesterId, 'requester'], [approverId, 'approver']]);
  const change = (outcome: string) => [{ op: 'approval', ...(entitlement ? { app: entitlement.app, entitlement: entitlement.entitlementId } : {}), outcome }];
  const common = {
    workflowId: ctx.workflowId,
    ...(ctx.policyVersion ? { policyVersion: ctx.policyVersion } : {}),
    subject: { employeeId: ctx.beneficiaryId },
    idempotencyKey: `approval/${event.approvalId}/${event.kind}${approverId ? `/${approverId}` : ''}`,
  };
  switch (event.kind) {
    case 'opened':
      return {
        ...common,
        actor: SYSTEM,
        action: 'approval.opened',
        reason: `opened ${label}: ${event.rule} (${event.mode}${event.mode === 'n-of-m' ? `, ${event.required} needed` : ''}, stage ${event.stage + 1}), ${plural(event.eligible.length, 'eligible approver')}, deadline ${event.deadline}`,
        changes: change('pending'),
        personal: { approvalId: event.approvalId, eligible: event.eligible },
      };
    case 'decided': {
      const { vote } = event;
      const standing = event.status === 'pending' ? '' : `: ${event.status}`;
      return {
        ...common,
        actor: { type: 'person', employeeId: vote.approverId },
        action: vote.decision === 'approved' ? 'approval.approved' : 'approval.rejected',
        reason: `${vote.decision} ${label} (${event.approvals} of ${event.required}) via ${vote.channel}${standing}`,
        ...(vote.eventId ? { eventId: vote.eventId } : {}),
        changes: change(event.status),
        personal: { approvalId: event.approvalId, ...(vote.comment ? { comment: vote.comment } : {}) },
      };
    }
    case 'reminded':
      return {
        ...common,
        actor: SYSTEM,
        action: 'approval.reminded',
        reason: `reminded ${plural(event.eligible.length, 'eligible approver')} of ${label}`,
        changes: change('pending'),
        personal: { approvalId: event.approvalId, eligible: event.eligible },
      };
    case 'escalated':
      return {
        ...common,
        actor: SYSTEM,
        action: 'approval.escalated',
        reason: `escalated ${label}: ${plural(event.eligible.length, 'eligible approver')}, deadline ${event.deadline}`,
        changes: change('pending'),
        personal: { approvalId: event.approvalId, eligible: event.eligible },
      };
    case 'closed':
      return {
        ...common,
        actor: SYSTEM,
        action: event.status === 'rejected' ? 'approval.closed-rejected' : `approval.${event.status}`,
        reason: `${event.status} ${label}`,
        changes: change(event.status),
        // The gate's reason may carry employee ids (approval ids, a withdrawal's cause): sealed.
        personal: { approvalId: event.approvalId, reason: event.reason.slice(0, 2000) },
      };
  }
}

/**
 * Records a gate's events in order, each with its audit record in one transaction. Returns how many
 * changed the store (a retried batch: 0). An event that fails stops the batch; those before it stay.
 */
export async function recordApprovalEvents(store: Store, ctx: ApprovalContext, events: ApprovalEvent[]): Promise<number> {
  let changed = 0;
  for (const event of events) {
    const { result } = await store.change(
      (tx) => applyApprovalEvent(tx, ctx, event),
      (r) => (r.changed ? approvalEventAudit(ctx, event, r) : null),
    );
    if (result.changed) changed += 1;
  }
  return changed;
}

type SummaryRow = ApprovalRow & { votes: number };

const summaryColumns = `${approvalColumns}, (select count(*)::int from approval_votes v where v.approval_id = a.approval_id) as votes`;

async function toSummary(db: Db, kek: KeyEncryptionKeys | undefined, row: SummaryRow): Promise<ApprovalSummary> {
  return { ...(await toApproval(db, kek, row)), votes: row.votes };
}

/**
 * The pending approvals this person may decide, oldest first: they are eligible, are neither the
 * beneficiary nor the requester, and have not voted on it yet; employee ids compared in any letter
 * case (policy/employee-ids.ts).
 */
export async function pendingApprovalsFor(db: Db, kek: KeyEncryptionKeys | undefined, employeeId: string): Promise<ApprovalSummary[]> {
  const { rows } = await db.query<SummaryRow>(
    `select ${summaryColumns} ${approvalFrom}
      where a.status = 'pending' and exists (select 1 from unnest(a.eligible) e where upper(e) = upper($1))
        and upper(b.employee_id) <> upper($1) and upper(r.employee_id) is distinct from upper($1)
        and not exists (select 1 from approval_votes v join identities vi on vi.person_id = v.approver
                         where v.approval_id = a.approval_id and upper(vi.employee_id) = upper($1))
      order by a.created_at, a.approval_id`,
    [employeeId],
  );
  return Promise.all(rows.map((r) => toSummary(db, kek, r)));
}

const MAX_LIST = 1000;

/** Approvals by status, beneficiary or ticket, newest first (at most `limit`, 100 unless told, 1000 at most). */
export async function listApprovals(db: Db, kek: KeyEncryptionKeys | undefined, filter: ApprovalListFilter = {}): Promise<ApprovalSummary[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST}`);
  const { rows } = await db.query<SummaryRow>(
    `select ${summaryColumns} ${approvalFrom}
      where ($1::text is null or a.status = $1) and ($2::text is null or upper(b.employee_id) = upper($2)) and ($3::text is null or a.ticket_id = $3)
      order by a.created_at desc, a.approval_id desc limit $4`,
    [filter.status ?? null, filter.beneficiaryId ?? null, filter.ticketId ?? null, limit],
  );
  return Promise.all(rows.map((r) => toSummary(db, kek, r)));
}

type VoteRow = { approver: string | null; decision: 'approved' | 'rejected'; channel: 'api' | 'itsm'; event_id: string | null; decided_at: Date; comment: Buffer | null };

/** One approval with each vote (who, what, through which channel, when, and the comment when readable). */
export async function getApprovalWithVotes(db: Db, kek: KeyEncryptionKeys | undefined, approvalId: string): Promise<ApprovalWithVotes | undefined> {
  const { rows } = await db.query<ApprovalRow>(`select ${approvalColumns} ${approvalFrom} where a.approval_id = $1`, [approvalId]);
  const row = rows[0];
  if (!row) return undefined;
  const approval = await toApproval(db, kek, row);
  const votes = await db.query<VoteRow>(
    `select i.employee_id as approver, v.decision, v.channel, v.event_id, v.decided_at, v.comment
       from approval_votes v left join identities i on i.person_id = v.approver
      where v.approval_id = $1 order by v.decided_at, v.recorded_at`,
    [approvalId],
  );
  const key = kek && votes.rows.some((v) => v.comment) ? await personKey(db, kek, row.person_id) : undefined;
  return {
    ...approval,
    votes: votes.rows.map((v) => ({
      approverId: v.approver,
      decision: v.decision,
      channel: v.channel,
      eventId: v.event_id,
      decidedAt: v.decided_at,
      comment: v.comment && key ? String(openJson({ personId: row.person_id, key }, voteCommentContext(approvalId), v.comment)) : undefined,
    })),
  };
}
