// One workflow per person (`identity/<employeeId>`), fed HR snapshots by signalWithStart.
// Ordering is by state: the snapshot with the highest sequence wins and the person is converged
// to its desired state; older and duplicate snapshots are recorded and ignored; a termination
// supersedes the person's pending work. Steps for later (mover grace period, leaver deletion
// delay) wait on durable timers in this workflow. Long-lived through continue-as-new.
// Its parts are in identity/: state, intake (handlers, HR events), requests (grants, expiries),
// gates (approvals), scheduled (steps for later), dated (a plan's wake time, accounts held for
// approval), converge, fence and outcomes.
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { IdentityLifecycleInput } from './messages.js';
import { nextWake, wakeUp } from './identity/dated.js';
import { gateDueTimes, gatesMoved, settleGates, tickDueGates } from './identity/gates.js';
import { listen, takeEvents } from './identity/intake.js';
import { expireGrants, nextExpiry, takeRequest } from './identity/requests.js';
import { nextScheduled, runScheduled } from './identity/scheduled.js';
import { carry, restore, type Identity } from './identity/state.js';

const MAX_HISTORY_EVENTS = 5_000;

export async function identityLifecycle(input: IdentityLifecycleInput): Promise<void> {
  const id = restore(input, workflowInfo().workflowId);
  listen(id);

  for (;;) {
    // Sleep until something arrives, a gate or a step is due, or the history has grown long.
    const due = earliest([nextScheduled(id), nextExpiry(id), ...gateDueTimes(id), nextWake(id)]);
    const wake = () => hasWork(id) || historyTooLong();
    if (due === undefined) await condition(wake);
    else await condition(wake, Math.max(1, due - Date.now()));

    if (id.pending.length > 0) {
      await takeEvents(id);
    } else if (id.requests.length > 0) {
      await takeRequest(id, id.requests.shift()!);
    } else if (gatesMoved(id)) {
      await settleGates(id);
    } else if (due !== undefined && due <= Date.now()) {
      const now = Date.now();
      if (tickDueGates(id, now)) await settleGates(id);
      else if ((nextExpiry(id) ?? Infinity) <= now) await expireGrants(id);
      else if ((nextWake(id) ?? Infinity) <= now) await wakeUp(id);
      else await runScheduled(id);
    } else if (historyTooLong()) {
      await condition(allHandlersFinished);
      if (!hasWork(id)) await continueAsNew<typeof identityLifecycle>({ employeeId: id.employeeId, carried: carry(id) });
    }
  }
}

/** HR events, access requests or approval decisions waiting to be taken. */
function hasWork(id: Identity): boolean {
  return id.pending.length > 0 || id.requests.length > 0 || gatesMoved(id);
}

function historyTooLong(): boolean {
  return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
}

function earliest(times: Array<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}
