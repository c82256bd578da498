// Activities of access requests and approval gates: assessing a request against the policy,
// resolving the approval chains of sensitive birthright steps, recording what the gates did (each
// event with its audit record), and the grants an approved request brings or a revoke request ends.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Connector } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import { approvalChainsFor, assessAccessRequest } from '../policy/access-requests.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { entitlementRef } from '../policy/compile.js';
import type { Identity } from '../policy/identity.js';
import type { ActualAccount } from '../policy/planner.js';
import type { WorkerSnapshot } from '../schemas/events.js';
import { addGrant, endRequestGrants, getApprovalWithVotes, getIdentity, listApprovals, listGrants, queryAudit, recordApprovalEvents, type AuditRow, type Store } from '../store/index.js';
import { DECISION_VERIFIED, grantApprovalProblem, type AssessedChain, type RecordedApproval, type RecordedAssessment, type VerifiedDecision } from '../policy/grant-approvals.js';
import type { ApprovalEvent, ChainSpec } from '../policy/approval-chain.js';
import { accessRequestWorkflowId, type AccessRequestInput } from '../workflows/approval-messages.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import { readActualAccounts } from './actual-accounts.js';
import { activityWorkflowId, callContext } from './call-context.js';

export type ApprovalDeps = {
  policy: () => CompiledPolicy;
  connectors: ReadonlyMap<string, Connector>;
  store: Store;
  logger: Logger;
  catalog: EntitlementCatalog;
};

export type RequestAssessment =
  | { verdict: 'blocked'; reasons: string[]; policyVersion: string }
  | { verdict: 'approval'; chains: ChainSpec[]; policyVersion: string; notes: string[]; alreadyHeld: boolean; /** How long the grant lasts once granted (ms); absent: no end. */ durationMs?: number };

export type RecordApprovalEventsInput = {
  workflowId: string;
  beneficiaryId: string;
  requesterId?: string;
  ticketId?: string;
  policyVersion?: string;
  events: ApprovalEvent[];
};

export type RecordRequestGrantInput = {
  employeeId: string;
  ticketId: string;
  eventId: string;
  app: string;
  entitlementId: string;
  expiresAt?: string;
  approvalIds: string[];
};

export type EndRequestGrantsInput = { employeeId: string; ticketId: string; eventId: string; app: string; entitlementId: string; requesterId: string };

const SYSTEM = { type: 'system' as const, id: 'access-request' };

/** The person's stored HR snapshot (the newest the store has): a request or a grant needs it. */
export async function storedSnapshot(store: Store, employeeId: string): Promise<WorkerSnapshot | undefined> {
  return (await getIdentity(store.pool, store.keys.kek, employeeId))?.snapshot;
}

export function createApprovalActivities(deps: ApprovalDeps) {
  const { store } = deps;

  return {
    /** Eligibility, separation of duties and the approval chain of an ITSM access request. */
    async assessAccessRequest(input: AccessRequestInput & { actual?: ActualAccount[] }): Promise<RequestAssessment> {
      const policy = deps.policy();
      const workflowId = activityWorkflowId();
      const entitlement = entitlementRef(input.app, input.entitlementId);
      const snapshot = await storedSnapshot(store, input.beneficiaryId);
      let result: RequestAssessment;
      if (!snapshot) {
        result = { verdict: 'blocked', reasons: [`${input.beneficiaryId} is not a known identity (no HR snapshot was received for them)`], policyVersion: policy.version };
      } else {
        // Read through the applications' queues by the workflow; histories from before read here.
        const actual = input.actual ?? (await readActualAccounts(policy, deps.connectors, deps.catalog, input.beneficiaryId, callContext(`${workflowId}/assess`)));
        const current = actual.flatMap((a) => a.entitlements.map((id) => entitlementRef(a.app, id)));
        const grants = (await listGrants(store.pool, input.beneficiaryId))
          .filter((g) => g.provenance.kind !== 'birthright')
          .map((g) => ({ id: g.grantId, entitlement: entitlementRef(g.app, g.entitlementId), grantedAt: g.grantedAt.toISOString(), ...(g.expiresAt ? { expiresAt: g.expiresAt.toISOString() } : {}) }));
        const now = new Date().toISOString();
        const assessed = assessAccessRequest(policy, {
          identity: snapshot as Identity,
          current,
          grants,
          request: { app: input.app, entitlementId: input.entitlementId, requesterId: input.requesterId, ...(input.duration ? { duration: input.duration } : {}) },
          now,
        });
        result =
          assessed.verdict === 'blocked'
            ? { verdict: 'blocked', reasons: assessed.reasons, policyVersion: policy.version }
            : {
                verdict: 'approval',
                chains: assessed.chains,
                policyVersion: policy.version,
                notes: assessed.notes,
                alreadyHeld: assessed.alreadyHeld,
                ...(assessed.expiresAt ? { durationMs: Date.parse(assessed.expiresAt) - Date.parse(now) } : {}),
              };
      }
      await store.audit({
        actor: { type: 'person', employeeId: input.requesterId },
        action: result.verdict === 'blocked' ? 'request.blocked' : 'request.received',
        // The policy's reasons name rules, entitlements and employee ids, never names.
        reason: result.verdict === 'blocked' ? result.reasons.join('; ').slice(0, 2000) : `${entitlement}: ${result.chains.length === 0 ? 'no approval needed' : result.chains.map((c) => `${c.rule} (${c.mode})`).join(', ')}`,
        eventId: input.eventId,
        workflowId,
        policyVersion: result.policyVersion,
        subject: { employeeId: input.beneficiaryId },
        changes: [{ op: 'request', app: input.app, entitlement: input.entitlementId, outcome: result.verdict }],
        // The ticket's justification is free text: sealed under the beneficiary's key. The assessed
        // chains (every rule, separation-of-duties reviews included) and the approved duration bound
        // the grant (checkRequestGrant).
        personal: {
          justification: input.justification.slice(0, 2000),
          ticketId: input.ticketId,
          ...(result.verdict === 'approval' ? { chains: assessedChains(result.chains), durationMs: result.durationMs ?? null } : {}),
        },
        idempotencyKey: `${workflowId}/assessed`,
      });
      deps.logger.info({ workflowId, employeeId: input.beneficiaryId, app: input.app, verdict: result.verdict }, 'access request assessed');
      return result;
    },

    /** The approval chains of sensitive birthright steps (the planner lists the rules per step). */
    async resolveApprovalChains(input: { employeeId: string; steps: Array<{ key: string; entitlement: string; rules: string[] }> }): Promise<Record<string, ChainSpec[]>> {
      const policy = deps.policy();
      const snapshot = await storedSnapshot(store, input.employeeId);
      if (!snapshot) throw ApplicationFailure.create({ type: 'UnknownIdentity', message: `no stored snapshot for ${input.employeeId}`, nonRetryable: true });
      const out: Record<string, ChainSpec[]> = {};
      for (const s of input.steps) out[s.key] = approvalChainsFor(policy, { identity: snapshot as Identity, entitlement: s.entitlement, rules: s.rules });
      return out;
    },

    /** What approval gates did, each event with its audit record; a retry records nothing twice. */
    async recordApprovalEvents(input: RecordApprovalEventsInput): Promise<number> {
      const { events, ...ctx } = input;
      return recordApprovalEvents(store, ctx, events);
    },

    /** The grant an approved request brings, with its end (the identity workflow keeps the timer). */
    async recordRequestGrant(input: RecordRequestGrantInput): Promise<void> {
      const workflowId = activityWorkflowId();
      await store.change(
        (tx) =>
          addGrant(tx, {
            employeeId: input.employeeId,
            app: input.app,
            entitlementId: input.entitlementId,
            provenance: { kind: 'request', ticketId: input.ticketId, ...(input.approvalIds[0] ? { approvalId: input.approvalIds[0] } : {}) },
            ...(input.expiresAt ? { expiresAt: new Date(input.expiresAt) } : {}),
            policyVersion: deps.policy().version,
          }),
        (r) =>
          r.result === 'unchanged'
            ? null
            : {
                actor: SYSTEM,
                action: r.result === 'created' ? 'grant.approved' : 'grant.extended',
                reason: `ticket ${input.ticketId}: approved by ${input.approvalIds.join(', ') || 'policy (no approval needed)'}${input.expiresAt ? `, until ${input.expiresAt}` : ''}`,
                eventId: input.eventId,
                workflowId,
                subject: { employeeId: input.employeeId },
                changes: [{ op: 'grant', app: input.app, entitlement: input.entitlementId, outcome: r.result }],
              },
      );
    },

    /** An ITSM revoke request: the person's request grants of the entitlement end now. */
    async endRequestGrants(input: EndRequestGrantsInput): Promise<number> {
      const workflowId = activityWorkflowId();
      const { result } = await store.change(
        (tx) => endRequestGrants(tx, { employeeId: input.employeeId, app: input.app, entitlementId: input.entitlementId, at: new Date(), reason: `revoke requested in ticket ${input.ticketId}` }),
        (ended) =>
          ended.length === 0
            ? null
            : {
                actor: { type: 'person', employeeId: input.requesterId },
                action: 'grant.revoke-requested',
                reason: `ticket ${input.ticketId}: ${ended.length} request grant(s) end now`,
                eventId: input.eventId,
                workflowId,
                subject: { employeeId: input.employeeId },
                changes: [{ op: 'revoke', app: input.app, entitlement: input.entitlementId, outcome: 'ended' }],
              },
      );
      return result.length;
    },

    /**
     * Before an access request's grant is recorded or applied: does the store hold the assessment and
     * the approvals its policy requires for the ticket (policy/grant-approvals.ts)? A refusal is
     * audited (`grant.refused`); the workflow then applies nothing.
     */
    async checkRequestGrant(input: RecordRequestGrantInput & { requesterId: string }): Promise<GrantCheck> {
      const policy = deps.policy();
      const workflowId = activityWorkflowId();
      const requestWorkflow = accessRequestWorkflowId(input.ticketId);
      const assessments = await queryAudit(store.pool, store.keys.kek, { employeeId: input.employeeId, action: 'request.received', limit: 10_000 });
      const record = assessments.find((r) => r.workflowId === requestWorkflow && r.changes.some((c) => c.app === input.app && c.entitlement === input.entitlementId && c.outcome === 'approval'));
      const summaries = await listApprovals(store.pool, undefined, { ticketId: input.ticketId, limit: 1000 });
      const approvals: RecordedApproval[] = [];
      for (const { approvalId } of summaries) {
        const a = await getApprovalWithVotes(store.pool, undefined, approvalId);
        if (a) approvals.push({ ...a, votes: a.votes.map((v) => ({ approverId: v.approverId, decision: v.decision, at: v.decidedAt.toISOString() })) });
      }
      const grantsOfTicket = (await listGrants(store.pool, input.employeeId, { includeRevoked: true })).filter(
        (g) => g.provenance.kind === 'request' && g.provenance.ticketId === input.ticketId && g.app === input.app && g.entitlementId === input.entitlementId,
      ).length;
      const verified = await verifiedDecisions(store, approvals);
      const problem = grantApprovalProblem(policy, input, { assessment: record && assessmentOf(record), approvals, verified, grantsOfTicket });
      if (!problem) return { verdict: 'approved', policyVersion: policy.version };
      await store.audit({
        actor: { type: 'system', id: 'grant-check' },
        action: 'grant.refused',
        // Problems name tickets, approval ids of requests, rules and entitlements: never people.
        reason: `ticket ${input.ticketId}: ${problem}`.slice(0, 2000),
        eventId: input.eventId,
        workflowId,
        policyVersion: policy.version,
        subject: { employeeId: input.employeeId },
        changes: [{ op: 'grant', app: input.app, entitlement: input.entitlementId, outcome: 'refused' }],
        personal: { requesterId: input.requesterId, approvalIds: [...input.approvalIds] },
        idempotencyKey: `${workflowId}/grant/${input.ticketId}/${input.eventId}/refused`,
      });
      deps.logger.warn({ workflowId, employeeId: input.employeeId, app: input.app, ticketId: input.ticketId }, 'grant refused: the store does not hold the approvals its policy requires');
      return { verdict: 'refused', reason: problem, policyVersion: policy.version };
    },
  };
}

/** The chains of an assessment as the `request.received` record keeps them. */
function assessedChains(chains: readonly ChainSpec[]): AssessedChain[] {
  return chains.map((c) => ({ rule: c.rule, reason: c.reason, stages: c.mode === 'sequential' ? c.slots.length : 1 }));
}

const chainsSchema = z.array(z.object({ rule: z.string(), reason: z.string(), stages: z.number().int().min(0) }));

/** What a `request.received` record says about the request: older records carry no chains or duration (the check then falls back, policy/grant-approvals.ts). */
function assessmentOf(record: AuditRow): RecordedAssessment {
  const chains = chainsSchema.safeParse(record.personal?.chains);
  const durationMs = record.personal?.durationMs;
  return {
    at: record.at,
    ...(record.actorEmployeeId ? { requesterId: record.actorEmployeeId } : {}),
    ...(chains.success ? { chains: chains.data } : {}),
    ...(durationMs === null || typeof durationMs === 'number' ? { durationMs } : {}),
  };
}

/** The verified decisions (clients/approvals.ts recordVerifiedDecision) of the people who voted on these approvals. */
async function verifiedDecisions(store: Store, approvals: readonly RecordedApproval[]): Promise<VerifiedDecision[]> {
  const ids = new Set(approvals.map((a) => a.approvalId));
  const voters = [...new Set(approvals.flatMap((a) => a.votes.flatMap((v) => (v.approverId === null ? [] : [v.approverId]))))];
  const out: VerifiedDecision[] = [];
  for (const approverId of voters) {
    for (const r of await queryAudit(store.pool, store.keys.kek, { employeeId: approverId, action: DECISION_VERIFIED, limit: 10_000 })) {
      const { approvalId, decision } = r.personal ?? {};
      if (typeof approvalId === 'string' && ids.has(approvalId) && (decision === 'approved' || decision === 'rejected')) out.push({ approvalId, approverId, decision });
    }
  }
  return out;
}

/** Whether a request grant may be applied (checkRequestGrant). */
export type GrantCheck = { verdict: 'approved'; policyVersion: string } | { verdict: 'refused'; reason: string; policyVersion: string };

export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;
