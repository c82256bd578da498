// How a person's change ends: its outcome recorded in the store and published, the workflow's
// search attributes brought up to date, and the steps left for later listed as deferred.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { PlanStep } from '../../activities/lifecycle-types.js';
import type { Outcome } from '../../schemas/outcomes.js';
import type { AppliedChange } from '../apply-plan.js';
import { Application, ProvisioningStatus } from '../search-attributes.js';
import { publishOutcome, recordChange } from './activities.js';
import type { Change, Identity } from './state.js';

/**
 * Records and publishes the outcome of one change (an ignored event leaves the search attributes as
 * they are). `applied: false`: nothing was applied (held, or waiting for a retry), the person's
 * applied sequence in the store stays.
 */
export async function finish(id: Identity, change: Change, result: Pick<Outcome, 'status' | 'policyVersion' | 'steps'> & Partial<Outcome>, options: { applied: boolean } = { applied: true }): Promise<void> {
  const { employeeId, workflowId, state } = id;
  const outcome: Outcome = {
    changeId: `${workflowId}/${change.changeId}`,
    employeeId,
    ...(change.ticketId ? { ticketId: change.ticketId } : {}),
    eventId: change.eventId,
    eventType: change.eventType,
    sequence: change.sequence,
    workflowId,
    ...result,
    // Workflow time is deterministic (the time of the workflow task), so this replays identically.
    completedAt: new Date().toISOString(),
  };
  if (result.status !== 'ignored') {
    upsertSearchAttributes([
      { key: ProvisioningStatus, value: state.status },
      { key: Application, value: Object.keys(state.accounts).sort() },
    ]);
  }
  await recordChange({ employeeId, changeId: outcome.changeId, eventId: change.eventId, sequence: change.sequence, outcome, ...(options.applied ? {} : { applied: false }), ...(change.time && change.changeId === change.eventId ? { eventTime: change.time } : {}) });
  await publishOutcome(outcome);
}

/** The outcome's list of steps waiting for their time or their approvals. */
export function deferredOf(steps: PlanStep[]): Pick<Outcome, 'deferred'> {
  if (steps.length === 0) return {};
  return {
    deferred: steps.map((s) => ({ key: s.key, app: s.app, action: s.action, ...(s.notBefore ? { notBefore: s.notBefore } : {}), ...(s.approvals ? { approvals: s.approvals } : {}) })),
  };
}

/** Why a change failed: the steps that failed for good, and whether what it did was undone. */
export function failedReason(applied: Pick<AppliedChange, 'steps' | 'compensations'>): string {
  const failed = applied.steps.filter((s) => s.outcome === 'failed').map((s) => `${s.app} ${s.action}${s.entitlementId ? ` ${s.entitlementId}` : ''}: ${s.detail ?? 'failed'}`);
  const undone = applied.compensations.length === 0 ? '' : applied.compensations.every((c) => c.ok) ? '; what the change did was undone' : '; some undos failed (see compensations): check the applications';
  return `${failed.join('; ') || 'a step failed'}${undone}`.slice(0, 2000);
}
