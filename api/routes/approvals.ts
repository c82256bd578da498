// Approvals and access requests over HTTP (docs/architecture.md#approvals, #security). The approver of a
// decision is always the authenticated caller: a body carries a comment and nothing else. A decision
// goes to the workflow that holds the approval as the `approve` / `reject` update, whose validator
// refuses the requester, the beneficiary, an ineligible approver and a decided approval;
// decideApproval audits the refused attempt. Lists and records come from the store, the live view
// from the workflow's query when it answers.
import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { z } from 'zod';
import { WorkflowNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { decideApproval, recordVerifiedDecision, type DecisionAnswer, type DecisionKind } from '../../clients/approvals.js';
import { getApprovalWithVotes, listApprovals, pendingApprovalsFor, type ApprovalWithVotes, type Store } from '../../store/index.js';
import type { ApprovalView } from '../../policy/approval-chain.js';
import { employeeKey } from '../../policy/employee-ids.js';
import { accessRequestWorkflowId, approvalWorkflowId, getApprovals, getRequestState } from '../../workflows/approval-messages.js';
import { authorize, callerOf, sendError, type Caller, type RefusalHook } from '../auth.js';
import type { Logger } from '../../observability/logger.js';
import { noWorkerAnswered } from '../../clients/unanswered.js';

export type ApprovalRouteDeps = {
  client: Client;
  store: Store | undefined;
  logger: Logger;
  onRefused: RefusalHook;
  /** How long a query may take before the answer is 504 (ms). */
  queryTimeoutMs: number;
  /** How long a decision (the update, validated and applied by the workflow) may take (ms). */
  decisionTimeoutMs: number;
};

/** Approval ids are what approvalWorkflowId parses; anything else of this alphabet is simply unknown. */
const approvalIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'an approval id is 1-200 letters, digits, ".", "_" or "-"');
const ticketIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a ticket id is 1-64 letters, digits, ".", "_" or "-"');

/** A decision's body. Strict: an `approverId` (or anything else) is refused rather than silently dropped. */
export const decisionBodySchema = z.strictObject({ comment: z.string().trim().min(1).max(2000).optional() });

/** The Idempotency-Key header: printable ASCII, no spaces. */
const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'an Idempotency-Key is 1-200 printable ASCII characters without spaces');

const listQuerySchema = z.object({
  scope: z.enum(['mine', 'all']).default('mine'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** The HTTP status of a refused decision. */
export function refusalStatus(code: Extract<DecisionAnswer, { ok: false }>['code']): 403 | 404 | 409 {
  switch (code) {
    case 'requester':
    case 'beneficiary':
    case 'not-eligible':
      return 403;
    case 'not-pending':
    case 'already-voted':
      return 409;
    case 'unknown-approval':
    case 'no-such-workflow':
      return 404;
  }
}

/**
 * The update id of a decision sent with an Idempotency-Key: scoped to the caller, the approval and
 * the verb, so one caller's key never answers for another caller (or another decision); hashed, as
 * update ids are stored in the clear in the workflow's history and the key is whatever the client sent.
 */
export const decisionUpdateId = (employeeId: string, approvalId: string, kind: DecisionKind, key: string): string =>
  // One person in any letter case (policy/employee-ids.ts): a token for `e1001` retrying what `E1001` sent is the same decision.
  `api-${createHash('sha256').update(JSON.stringify([employeeKey(employeeId), approvalId, kind, key])).digest('hex').slice(0, 40)}`;

/**
 * Comments are free text about the beneficiary (sealed in the store): shown to auditors and admins;
 * an approver sees who decided what, as the workflow's own view shows it, without the words.
 */
function withComments(approval: ApprovalWithVotes, caller: Caller): ApprovalWithVotes {
  if (caller.roles.includes('auditor') || caller.roles.includes('admin')) return approval;
  return { ...approval, comment: undefined, votes: approval.votes.map((v) => ({ ...v, comment: undefined })) };
}

const firstIssue = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).slice(0, 3).join('; ');

export function registerApprovalRoutes(app: Express, deps: ApprovalRouteDeps): void {
  const { client, store, onRefused, queryTimeoutMs, decisionTimeoutMs } = deps;
  const log = deps.logger;
  const noStore = (res: Response) => sendError(res, 503, 'store-unavailable', 'this API runs without the store (--no-store): approvals cannot be listed or decided');

  /** The workflow's own view of the approval, or why it is missing (the store's record still answers). */
  const liveView = async (approvalId: string, workflowId: string): Promise<{ live: ApprovalView | null; liveStatus: 'ok' | 'not-found' | 'no-workflow' | 'timeout' }> => {
    try {
      const views = await client.withDeadline(Date.now() + queryTimeoutMs, () => client.workflow.getHandle(workflowId).query(getApprovals));
      const view = views.find((v) => v.approvalId === approvalId);
      return view ? { live: view, liveStatus: 'ok' } : { live: null, liveStatus: 'not-found' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { live: null, liveStatus: 'no-workflow' };
      if (noWorkerAnswered(err)) return { live: null, liveStatus: 'timeout' };
      // A closed workflow without the query, a query the workflow does not know: the record answers.
      log.warn({ err: { message: (err as Error).message }, workflowId }, 'approval query failed');
      return { live: null, liveStatus: 'not-found' };
    }
  };

  app.get('/approvals', authorize((req) => (req.query.scope === 'all' ? 'GET /approvals?scope=all' : 'GET /approvals'), onRefused), async (req, res) => {
    const query = listQuerySchema.safeParse(req.query);
    if (!query.success) return sendError(res, 400, 'invalid-query', `expected ?scope=mine|all&limit=1-1000: ${firstIssue(query.error)}`);
    if (!store) return noStore(res);
    const caller = callerOf(res)!;
    const approvals =
      query.data.scope === 'all'
        ? await listApprovals(store.pool, store.keys.kek, { status: 'pending', limit: query.data.limit })
        : await pendingApprovalsFor(store.pool, store.keys.kek, caller.employeeId);
    res.json({ scope: query.data.scope, approvals });
  });

  app.get('/approvals/:approvalId', authorize('GET /approvals/:approvalId', onRefused), async (req, res) => {
    const id = approvalIdSchema.safeParse(req.params.approvalId);
    if (!id.success) return sendError(res, 400, 'invalid-approval-id', firstIssue(id.error));
    const approvalId = id.data;
    const workflowId = approvalWorkflowId(approvalId);
    const stored = store ? await getApprovalWithVotes(store.pool, store.keys.kek, approvalId) : undefined;
    const record = stored ? withComments(stored, callerOf(res)!) : null;
    const { live, liveStatus } = workflowId ? await liveView(approvalId, workflowId) : { live: null, liveStatus: 'no-workflow' as const };
    if (!record && !live) {
      if (liveStatus === 'timeout') return sendError(res, 504, 'query-timeout', `the workflow holding ${approvalId} did not answer within ${queryTimeoutMs} ms (is a worker running?)`);
      return sendError(res, 404, 'unknown-approval', `no approval ${approvalId}`);
    }
    res.json({ approvalId, workflowId: workflowId ?? null, record, live, liveStatus });
  });

  for (const kind of ['approve', 'reject'] as const) {
    app.post(`/approvals/:approvalId/${kind}`, authorize(`POST /approvals/:approvalId/${kind}`, onRefused), async (req: Request, res: Response) => {
      const id = approvalIdSchema.safeParse(req.params.approvalId);
      if (!id.success) return sendError(res, 400, 'invalid-approval-id', firstIssue(id.error));
      const body = decisionBodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        return sendError(res, 400, 'invalid-body', `expected { comment?: string (at most 2000 characters) }; the approver is the authenticated caller: ${firstIssue(body.error)}`);
      }
      const rawKey = req.get('idempotency-key');
      const key = rawKey === undefined ? undefined : idempotencyKeySchema.safeParse(rawKey);
      if (key && !key.success) return sendError(res, 400, 'invalid-idempotency-key', firstIssue(key.error));
      // Without the store a refused attempt could not be audited: no decisions then.
      if (!store) return noStore(res);
      const approverId = callerOf(res)!.employeeId;
      const request = { approvalId: id.data, approverId, channel: 'api' as const, ...(body.data.comment ? { comment: body.data.comment } : {}) };
      const updateId = key?.success ? decisionUpdateId(approverId, id.data, kind, key.data) : undefined;
      // The token was verified (authorize): recorded before the update, so the grant check counts this vote.
      await recordVerifiedDecision(store, kind, request, { source: 'api', tokenSubject: approverId }, updateId ? `${updateId}#verified` : undefined);
      let answer: DecisionAnswer;
      try {
        answer = await client.withDeadline(Date.now() + decisionTimeoutMs, () => decideApproval({ client, store }, kind, request, updateId ? { updateId } : {}));
      } catch (err) {
        // The deadline can pass in a read before the update (a gRPC deadline error) or in the update
        // itself, which the client reports as its own timeout error.
        if (noWorkerAnswered(err) || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
          return sendError(res, 504, 'decision-timeout', `the workflow holding ${id.data} did not take the decision within ${decisionTimeoutMs} ms (is a worker running?); repeat it with the same Idempotency-Key`);
        }
        throw err;
      }
      if (!answer.ok) return sendError(res, refusalStatus(answer.code), answer.code, answer.message);
      log.info({ approvalId: id.data, kind, approver: approverId, status: answer.result.status, gateStatus: answer.result.gateStatus }, 'approval decided');
      res.json({ decision: answer.result });
    });
  }

  app.get('/requests/:ticketId', authorize('GET /requests/:ticketId', onRefused), async (req, res) => {
    const id = ticketIdSchema.safeParse(req.params.ticketId);
    if (!id.success) return sendError(res, 400, 'invalid-ticket-id', firstIssue(id.error));
    const workflowId = accessRequestWorkflowId(id.data);
    try {
      const state = await client.withDeadline(Date.now() + queryTimeoutMs, () => client.workflow.getHandle(workflowId).query(getRequestState));
      res.json({ ticketId: id.data, workflowId, state });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return sendError(res, 404, 'request-not-found', `no access request workflow for ticket ${id.data}`);
      if (noWorkerAnswered(err)) return sendError(res, 504, 'query-timeout', `the access request workflow did not answer within ${queryTimeoutMs} ms (is a worker running?)`);
      throw err;
    }
  });
}
