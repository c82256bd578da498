// Access requests in a person's workflow: an approved grant or a revoke request is recorded and
// the person converged; a time-bound grant ends at its expiry the same way. A grant is first
// checked against the approvals the store recorded for its ticket; without them it is refused.
import { patched } from '@temporalio/workflow';
import type { AccessGranted } from '../approval-messages.js';
import type { RequestWork } from '../messages.js';
import { checkRequestGrant, endRequestGrants, recordRequestGrant } from './activities.js';
import { finish } from './outcomes.js';
import { converge } from './converge.js';
import { reevaluationKey, remember, type Identity } from './state.js';

/** When the first time-bound grant ends, if any. */
export function nextExpiry(id: Identity): number | undefined {
  const { grants } = id.state;
  return grants?.length ? Math.min(...grants.map((g) => Date.parse(g.expiresAt))) : undefined;
}

/** An approved access request's grant, or a revoke request: recorded, then the person is converged. */
export async function takeRequest(id: Identity, work: RequestWork): Promise<void> {
  const { employeeId, state } = id;
  const base = { source: 'itsm', sequence: state.lastAppliedSequence };
  if (work.kind === 'grant') {
    const { grant } = work;
    // Checked against the store's recorded approvals before anything is recorded or applied: a
    // signal sent straight to this workflow names a ticket, only its access request records approvals.
    // A refused grant is not remembered, so a forged signal cannot shadow the ticket's real grant.
    if (patched('grants-checked-against-approvals')) {
      // The grant's end goes along so the check bounds it: only the activity's input grew, no command changed (histories replay).
      const check = await checkRequestGrant({ employeeId, ticketId: grant.ticketId, eventId: grant.eventId, requesterId: grant.requesterId, app: grant.app, entitlementId: grant.entitlementId, approvalIds: grant.approvalIds, ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}) });
      if (check.verdict === 'refused') return refuseGrant(id, grant, check.reason, check.policyVersion);
    }
    remember(id, `grant/${grant.ticketId}`);
    await recordRequestGrant({ employeeId, ticketId: grant.ticketId, eventId: grant.eventId, app: grant.app, entitlementId: grant.entitlementId, approvalIds: grant.approvalIds, ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}) });
    if (grant.expiresAt) state.grants = [...(state.grants ?? []).filter((g) => g.ticketId !== grant.ticketId), { ticketId: grant.ticketId, app: grant.app, entitlementId: grant.entitlementId, expiresAt: grant.expiresAt }];
    await converge(id, { ...base, changeId: `grant/${grant.ticketId}`, eventId: grant.eventId, eventType: 'itsm.access.requested', ticketId: grant.ticketId });
  } else if (work.kind === 'reevaluate') {
    // Planned on the newest snapshot, like a grant: only an HR snapshot moves the sequence.
    const { reevaluation } = work;
    const key = reevaluationKey(reevaluation.requestId);
    remember(id, key);
    await converge(id, { ...base, source: reevaluation.source, changeId: key, eventId: key, eventType: 'provisioner.reevaluation.requested' });
  } else {
    const { revoke } = work;
    remember(id, revoke.eventId);
    await endRequestGrants({ employeeId, ticketId: revoke.ticketId, eventId: revoke.eventId, app: revoke.app, entitlementId: revoke.entitlementId, requesterId: revoke.requesterId });
    state.grants = (state.grants ?? []).filter((g) => g.app !== revoke.app || g.entitlementId !== revoke.entitlementId);
    await converge(id, { ...base, source: revoke.source, changeId: `revoke/${revoke.ticketId}`, eventId: revoke.eventId, eventType: 'itsm.access.revoke.requested', ticketId: revoke.ticketId });
  }
}

/** A grant without the approvals its policy requires: shown in getState, and its outcome says why (checkRequestGrant audited it). */
async function refuseGrant(id: Identity, grant: AccessGranted, reason: string, policyVersion: string): Promise<void> {
  const { state } = id;
  const at = new Date().toISOString();
  state.refusedGrants = [...(state.refusedGrants ?? []), { ticketId: grant.ticketId, eventId: grant.eventId, app: grant.app, entitlementId: grant.entitlementId, reason, at }].slice(-20);
  const change = { changeId: `grant/${grant.ticketId}/refused/${grant.eventId}`, eventId: grant.eventId, eventType: 'itsm.access.requested' as const, source: 'itsm', sequence: state.lastAppliedSequence, ticketId: grant.ticketId };
  const detail = `grant refused: ${reason}`.slice(0, 1000);
  await finish(id, change, { status: 'rejected', policyVersion, steps: [{ app: grant.app, action: 'grant', outcome: 'rejected', entitlementId: grant.entitlementId, detail }], reason: detail }, { applied: false });
}

/** Time-bound grants whose end has come: the person is converged without them (the plan revokes at once). */
export async function expireGrants(id: Identity): Promise<void> {
  const { state } = id;
  const now = Date.now();
  const ended = (state.grants ?? []).filter((g) => Date.parse(g.expiresAt) <= now);
  state.grants = (state.grants ?? []).filter((g) => !ended.includes(g));
  const first = ended[0]!;
  await converge(id, { changeId: `expiry/${first.ticketId}/${first.expiresAt}`, eventId: `expiry/${first.ticketId}/${first.expiresAt}`, eventType: 'provisioner.grant.expired', source: 'provisioner:timer', sequence: state.lastAppliedSequence, ticketId: first.ticketId });
}
