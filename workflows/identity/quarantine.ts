// A person's change and the quarantined applications (activities/quarantine.ts): a step or a
// plan's read of a quarantined application fails fast with `ApplicationQuarantined` (never
// retried); the other applications' steps of the change carry on, and the change waits for the
// quarantined ones durably: `getState` and the search attributes say so (ProvisioningStatus
// `waiting-for-application`, QuarantinedApplications), the probe's release signals the workflow
// (`applicationReleased`) and it asks the store again every `probeEvery` anyway; once every
// application it waits for is released, the change is planned again and what is left runs.
// Histories from before this shape took the failure as a failed step (patch `quarantine-wait`).
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { bookkeepingOptions } from '../activity-options.js';
import { APPLICATION_QUARANTINED, type QuarantinedDetails } from '../messages.js';
import { QuarantinedApplications } from '../search-attributes.js';
import type { Change, Identity } from './state.js';

export const QUARANTINE_PATCH = 'quarantine-wait';

const { quarantinedApplicationsOf } = proxyActivities<Activities>(bookkeepingOptions);

/** The quarantine a failure reports, when this history waits for it (patched); undefined for every other failure. */
export function quarantinedBy(err: unknown): QuarantinedDetails | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || cause.type !== APPLICATION_QUARANTINED) return undefined;
  if (!patched(QUARANTINE_PATCH)) return undefined;
  const details = cause.details?.[0] as Partial<QuarantinedDetails> | undefined;
  return { app: details?.app ?? 'unknown', state: details?.state ?? 'quarantined', recheckMs: details?.recheckMs ?? 60_000 };
}

/** One entry per application (the first report of each). */
export function byApplication(found: readonly QuarantinedDetails[]): QuarantinedDetails[] {
  return found.filter((q, i) => found.findIndex((o) => o.app === q.app) === i);
}

/** Why a change waits, for its outcome. */
export function waitingReason(waiting: readonly QuarantinedDetails[]): string {
  const apps = waiting.map((w) => w.app).join(', ');
  return `waiting for quarantined application(s) ${apps}: their steps run once released (provisioner quarantine list)`;
}

/**
 * The change waits for `waiting`: shown by getState and the search attributes, checked again at
 * the probe's interval. `resuming`: the wait this change was planned again after (its first change is kept).
 */
export function waitFor(id: Identity, change: Change, waiting: readonly QuarantinedDetails[], resuming?: Identity['waiting']): void {
  const apps = waiting.map((w) => w.app).sort();
  const recheckMs = Math.min(...waiting.map((w) => w.recheckMs));
  const fenceAsks = [...(resuming?.fenceAsks ?? []), ...id.fenceAsks];
  id.waiting = { change: resuming?.change ?? change, apps, recheckMs, nextCheckAt: Date.now() + recheckMs, attempt: (resuming?.attempt ?? 0) + 1, ...(fenceAsks.length > 0 ? { fenceAsks } : {}) };
  id.waitingReleased = false;
  id.state.status = 'waiting-for-application';
  id.state.quarantinedApplications = apps;
  upsertSearchAttributes([{ key: QuarantinedApplications, value: apps }]);
}

/** A newer plan covers the waiting change: the wait is over (the new plan waits again if it must). */
export function stopWaiting(id: Identity): void {
  if (!id.waiting) return;
  id.waiting = undefined;
  id.waitingReleased = false;
  delete id.state.quarantinedApplications;
  upsertSearchAttributes([{ key: QuarantinedApplications, value: null }]);
}

/** Whether the waiting change should ask the store again now: a release was signalled, or its interval passed. */
export function waitingDue(id: Identity, now: number): boolean {
  return id.waiting !== undefined && (id.waitingReleased || id.waiting.nextCheckAt <= now);
}

/**
 * Asks which of the applications are still quarantined. None: the change to plan again (with its
 * wait, to keep its first change); else the wait goes on with what is left.
 */
export async function checkWaiting(id: Identity): Promise<{ change: Change; resuming: NonNullable<Identity['waiting']> } | undefined> {
  const waiting = id.waiting!;
  id.waitingReleased = false;
  const { waiting: still } = await quarantinedApplicationsOf({ apps: waiting.apps });
  if (still.length > 0) {
    const apps = still.map((w) => w.app).sort();
    waiting.apps = apps;
    waiting.recheckMs = Math.min(...still.map((w) => w.recheckMs));
    waiting.nextCheckAt = Date.now() + waiting.recheckMs;
    id.state.quarantinedApplications = apps;
    upsertSearchAttributes([{ key: QuarantinedApplications, value: apps }]);
    return undefined;
  }
  return { change: { ...waiting.change, changeId: `${waiting.change.changeId}/after-quarantine-${waiting.attempt}` }, resuming: waiting };
}
