// What provisioner emits on `provisioning.outcomes`, keyed by employee id (docs/architecture.md#events).
import { z } from 'zod';

export const stepOutcomeSchema = z.strictObject({
  app: z.string(),
  /** What the step did, as a verb: ensureAccount, disableAccount, grant, revoke, ... */
  action: z.string(),
  /** The connector's explicit answer: created | updated | unchanged | action-required | applied | already-in-state | failed; planned: the application is in plan-only mode (nothing written); rejected: an operator rejected the fence batch that held it (nothing written). */
  outcome: z.enum(['created', 'updated', 'unchanged', 'action-required', 'applied', 'already-in-state', 'failed', 'skipped', 'cancelled', 'planned', 'rejected']),
  detail: z.string().optional(),
  entitlementId: z.string().optional(),
  /** The account in the app, when there is one. */
  accountId: z.string().optional(),
});
export type StepOutcome = z.infer<typeof stepOutcomeSchema>;

export const outcomeSchema = z.strictObject({
  /** Stable per change: `${workflowId}/${eventId}`. */
  changeId: z.string(),
  employeeId: z.string(),
  /** The ITSM ticket behind the change (an access request, its expiry or its revocation). */
  ticketId: z.string().optional(),
  eventId: z.string(),
  eventType: z.string(),
  sequence: z.number().int(),
  /**
   * succeeded: every step converged; action-required: a human must act; failed: a step failed for
   * good (what was undone is in compensations); superseded: a termination cut it short; ignored:
   * stale or duplicate; rejected: an approver said no or the approval deadline passed; blocked:
   * policy refused an access request (eligibility, separation of duties, maximum duration).
   */
  status: z.enum(['succeeded', 'action-required', 'failed', 'superseded', 'ignored', 'rejected', 'blocked']),
  policyVersion: z.string(),
  workflowId: z.string(),
  steps: z.array(stepOutcomeSchema),
  reason: z.string().optional(),
  /** When a step failed for good: what this change undid, in reverse order, and what it could not undo. */
  compensations: z.array(z.strictObject({ label: z.string(), ok: z.boolean(), error: z.string().optional() })).optional(),
  /** Steps waiting: for a later time (grace period, deletion delay) or for an approval. */
  deferred: z.array(z.strictObject({ key: z.string(), app: z.string(), action: z.string(), notBefore: z.string().optional(), approvals: z.array(z.string()).optional() })).optional(),
  completedAt: z.iso.datetime(),
});
export type Outcome = z.infer<typeof outcomeSchema>;
