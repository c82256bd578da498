// What reaches a person's workflow: HR events, access requests' grants and revokes, approval
// decisions and fence decisions (duplicates dropped by event id), and how HR events are taken.
import { patched, setHandler } from '@temporalio/workflow';
import { handleApprovals } from '../approval-handlers.js';
import { accessGranted, accessRevocationRequested } from '../approval-messages.js';
import { fenceDecision } from '../fence-messages.js';
import { applicationReleased, getState, hrEventReceived, reevaluationRequested, resequenceRequested, retryRequested, type RequestWork } from '../messages.js';
import { converge } from './converge.js';
import { accountsAwaitingApproval } from './dated.js';
import { finish } from './outcomes.js';
import { retryChange, retryOptions, sequenceBaseline } from './retry.js';
import { hrChange, reevaluationKey, remember, type Identity } from './state.js';

/** Registers the workflow's signal, query and update handlers; they queue work for the main loop. */
export function listen(id: Identity): void {
  setHandler(hrEventReceived, (event) => {
    // A replayed Kafka message carries the same event id: harmless by construction.
    if (id.recentEventIds.includes(event.eventId) || id.pending.some((p) => p.eventId === event.eventId)) return;
    id.pending.push(event);
    // A termination supersedes the person's pending work, including a change in flight; any newer
    // snapshot supersedes scheduled steps the fence is holding (a termination rescinded or moved).
    const { applying } = id;
    if (applying && event.snapshot.sequence > applying.sequence && (applying.scheduled ? id.state.fenceHold !== undefined : event.type === 'hr.worker.terminated')) applying.scope.cancel();
  });
  // A quarantined application the change waits for was released: the main loop asks the store now.
  setHandler(applicationReleased, ({ app }) => {
    if (id.waiting?.apps.includes(app)) id.waitingReleased = true;
  });
  setHandler(getState, () => ({ ...id.state, ...accountsAwaitingApproval(id), pendingEvents: id.pending.length + id.requests.length }));
  // Access requests hand over approved grants and revoke requests; duplicates are harmless.
  setHandler(accessGranted, (grant) => {
    if (id.recentEventIds.includes(`grant/${grant.ticketId}`)) return;
    // Grants are checked against the store's approvals (identity/requests.ts): only the very same
    // grant is dropped while one is queued, so a forged signal for a ticket cannot shadow its real grant.
    const queued = (r: RequestWork) => r.kind === 'grant' && (patched('grants-checked-against-approvals') ? JSON.stringify(r.grant) === JSON.stringify(grant) : r.grant.ticketId === grant.ticketId);
    if (id.requests.some(queued)) return;
    id.requests.push({ kind: 'grant', grant });
  });
  setHandler(accessRevocationRequested, (revoke) => {
    if (id.recentEventIds.includes(revoke.eventId) || id.requests.some((r) => r.kind === 'revoke' && r.revoke.eventId === revoke.eventId)) return;
    id.requests.push({ kind: 'revoke', revoke });
  });
  // Sensitive birthright steps wait for their approvals, decided by the same approve / reject updates as requests.
  handleApprovals(() => id.gates.map((g) => g.gate), () => id.closedApprovals);
  setHandler(fenceDecision, (d) => {
    id.fenceDecisions[d.batchId] = d;
  });
  // An operator's `provisioner retry` and `provisioner identity resequence` (the API audits who asked).
  setHandler(retryRequested, () => {
    id.retryRequested = true;
  });
  setHandler(resequenceRequested, () => {
    if (id.held) id.resequenceRequested = true;
  });
  // A reconciliation's or a policy rollout's ask to plan the person again; a repeated ask is harmless.
  setHandler(reevaluationRequested, (reevaluation) => {
    const key = reevaluationKey(reevaluation.requestId);
    if (id.recentEventIds.includes(key) || id.requests.some((r) => r.kind === 'reevaluate' && r.reevaluation.requestId === reevaluation.requestId)) return;
    id.requests.push({ kind: 'reevaluate', reevaluation });
  });
}

/** Takes every HR event that arrived: the highest sequence wins and is converged, the rest is recorded as ignored. */
export async function takeEvents(id: Identity): Promise<void> {
  const { state } = id;
  const batch = id.pending.splice(0, id.pending.length).sort((a, b) => a.snapshot.sequence - b.snapshot.sequence);
  const newest = batch[batch.length - 1]!;
  // An HR change waiting for its retry counts as taken: an event must be newer than it too.
  const baseline = sequenceBaseline(id);
  const waiting = baseline > state.lastAppliedSequence ? ` (sequence ${baseline} waits for its retry)` : '';
  // A burst's ignored events are recorded all at once (each outcome is independent); histories from
  // before recorded them one after another.
  const together = batch.length > 2 && patched('ignored-outcomes-together');
  const recording: Promise<void>[] = [];
  for (const event of batch) {
    remember(id, event.eventId);
    if (event === newest && event.snapshot.sequence > baseline) continue;
    const reason =
      event.snapshot.sequence <= baseline
        ? `sequence ${event.snapshot.sequence} is not newer than the applied sequence ${state.lastAppliedSequence}${waiting}`
        : `superseded by sequence ${newest.snapshot.sequence} that arrived with it`;
    state.ignoredEvents = [...state.ignoredEvents, { eventId: event.eventId, sequence: event.snapshot.sequence, reason }].slice(-20);
    const done = finish(id, hrChange(event), { status: 'ignored', policyVersion: 'n/a', steps: [], reason });
    if (together) recording.push(done);
    else await done;
  }
  await Promise.all(recording);
  if (newest.snapshot.sequence > baseline) {
    await converge(id, hrChange(newest));
    // The newest was held (its sequence jumped absurdly far): the newest of the rest is the feed's
    // real next change, converged under its own change id (its arrival was recorded as superseded).
    const runnerUp = batch.filter((e) => e !== newest && e.snapshot.sequence > sequenceBaseline(id)).pop();
    if (id.held?.eventId === newest.eventId && runnerUp) await converge(id, { ...hrChange(runnerUp), changeId: `${runnerUp.eventId}/after-held` });
  }
  // The change waiting for its retry is tried again on the person's next event.
  else if (id.retry) await converge(id, retryChange(id.retry), retryOptions(id.retry));
}
