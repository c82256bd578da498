// Access requests in a person's workflow: an approved grant or a revoke request is recorded and
// the person converged; a time-bound grant ends at its expiry the same way.
import type { RequestWork } from '../messages.js';
import { endRequestGrants, recordRequestGrant } from './activities.js';
import { converge } from './converge.js';
import { remember, type Identity } from './state.js';

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
    remember(id, `grant/${grant.ticketId}`);
    await recordRequestGrant({ employeeId, ticketId: grant.ticketId, eventId: grant.eventId, app: grant.app, entitlementId: grant.entitlementId, approvalIds: grant.approvalIds, ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}) });
    if (grant.expiresAt) state.grants = [...(state.grants ?? []).filter((g) => g.ticketId !== grant.ticketId), { ticketId: grant.ticketId, app: grant.app, entitlementId: grant.entitlementId, expiresAt: grant.expiresAt }];
    await converge(id, { ...base, changeId: `grant/${grant.ticketId}`, eventId: grant.eventId, eventType: 'itsm.access.requested', ticketId: grant.ticketId });
  } else {
    const { revoke } = work;
    remember(id, revoke.eventId);
    await endRequestGrants({ employeeId, ticketId: revoke.ticketId, eventId: revoke.eventId, app: revoke.app, entitlementId: revoke.entitlementId, requesterId: revoke.requesterId });
    state.grants = (state.grants ?? []).filter((g) => g.app !== revoke.app || g.entitlementId !== revoke.entitlementId);
    await converge(id, { ...base, source: revoke.source, changeId: `revoke/${revoke.ticketId}`, eventId: revoke.eventId, eventType: 'itsm.access.revoke.requested', ticketId: revoke.ticketId });
  }
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
