// One workflow per person (`identity/<employeeId>`), fed HR snapshots by signalWithStart.
// Ordering is by state: the snapshot with the highest sequence wins and the person is converged
// to its desired state; older and duplicate snapshots are recorded and ignored; a termination
// supersedes the person's pending work. Steps for later (mover grace period, leaver deletion
// delay) wait on durable timers in this workflow. Long-lived through continue-as-new.
// Its parts are in identity/: state, intake (handlers, HR events), requests (grants, expiries),
// gates (approvals), scheduled (steps for later), dated (a plan's wake time, accounts held for
// approval), retry (changes that could not be planned), held (absurd sequences), converge, fence
// and outcomes.
import { allHandlersFinished, condition, continueAsNew, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { IdentityLifecycleInput } from './messages.js';
import { nextWake, wakeUp } from './identity/dated.js';
import { gateDueTimes, gatesMoved, settleGates, tickDueGates } from './identity/gates.js';
import { listen, takeEvents } from './identity/intake.js';
import { expireGrants, nextExpiry, takeRequest } from './identity/requests.js';
import { nextScheduled, retryFailedSteps, runScheduled } from './identity/scheduled.js';
import { converge } from './identity/converge.js';
import { checkWaiting, waitingDue } from './identity/quarantine.js';
import { resequence } from './identity/held.js';
import { isSurvivable, retryChange, retryOptions, stalled } from './identity/retry.js';
import { afterFenceRejection, carry, restore, type Identity } from './identity/state.js';

const MAX_HISTORY_EVENTS = 5_000;

export async function identityLifecycle(input: IdentityLifecycleInput): Promise<void> {
  const id = restore(input, workflowInfo().workflowId);
  listen(id);
  // Failures outside a change's planning in a row: each waits longer (identity/retry.ts).
  let stalls = 0;

  for (;;) {
    // Sleep until something arrives, a gate, a step, a wake or a retry is due, or the history has grown long.
    const due = earliest([nextScheduled(id), nextExpiry(id), ...gateDueTimes(id), nextWake(id), id.retry?.nextAt, id.waiting?.nextCheckAt]);
    const wake = () => hasWork(id) || historyTooLong();
    if (due === undefined) await condition(wake);
    else await condition(wake, Math.max(1, due - Date.now()));

    let took: boolean;
    try {
      took = await takeWork(id, due);
      stalls = 0;
    } catch (err) {
      // Only continue-as-new ends a run: a failure leaves the person's timers, gates and grants.
      if (isCancellation(err) || !isSurvivable(err)) throw err;
      await stalled(id, err, ++stalls);
      continue;
    }
    if (!took && historyTooLong()) {
      await condition(allHandlersFinished);
      if (!hasWork(id)) await continueAsNew<typeof identityLifecycle>({ employeeId: id.employeeId, carried: carry(id) });
    }
  }
}

/** Takes one piece of work: HR events first, then requests, approvals, an operator's ask, and what is due. False: there was none. */
async function takeWork(id: Identity, due: number | undefined): Promise<boolean> {
  if (id.pending.length > 0) {
    await takeEvents(id);
  } else if (id.requests.length > 0) {
    // Taken off the queue once done: a request whose bookkeeping failed is taken again after the stall.
    const work = id.requests[0]!;
    await takeRequest(id, work);
    id.requests = id.requests.filter((r) => r !== work);
  } else if (gatesMoved(id)) {
    await settleGates(id);
  } else if (id.resequenceRequested) {
    await resequence(id);
  } else if (id.retryRequested) {
    // An operator's retry: the change waiting for its retry now, and the failed scheduled steps next.
    id.retryRequested = false;
    retryFailedSteps(id);
    if (id.retry) await converge(id, retryChange(id.retry), retryOptions(id.retry));
    else if (id.state.status === 'fence-rejected' && id.lastSnapshot && patched('fence-rejected-retry')) await converge(id, afterFenceRejection(id, id.lastSnapshot));
  } else if (waitingDue(id, Date.now())) {
    // The change waiting for quarantined applications: planned again once every one is released.
    const resumed = await checkWaiting(id);
    if (resumed) await converge(id, resumed.change, { resuming: resumed.resuming });
  } else if (isDue(due)) {
    const now = Date.now();
    if (tickDueGates(id, now)) await settleGates(id);
    else if ((nextExpiry(id) ?? Infinity) <= now) await expireGrants(id);
    else if ((nextWake(id) ?? Infinity) <= now) await wakeUp(id);
    else if ((nextScheduled(id) ?? Infinity) <= now) await runScheduled(id);
    else if (id.retry && id.retry.nextAt <= now) await converge(id, retryChange(id.retry), retryOptions(id.retry));
  } else return false;
  return true;
}

const isDue = (due: number | undefined) => due !== undefined && due <= Date.now();

/** HR events, access requests or approval decisions waiting to be taken. */
function hasWork(id: Identity): boolean {
  return id.pending.length > 0 || id.requests.length > 0 || gatesMoved(id) || id.retryRequested || id.resequenceRequested || id.waitingReleased;
}

function historyTooLong(): boolean {
  return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
}

function earliest(times: Array<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}
