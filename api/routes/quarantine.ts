// Quarantined applications over HTTP: the list (operators and auditors, with the applications that
// asked for a pause with Retry-After), and an operator's hold
// (the probe never releases a held application) or release (which also lifts a pause and ends the
// probe). The operator is the authenticated
// caller, never a typed name; each change commits with its audit record
// (`application.quarantine-held`, `application.released`), and a release signals the identity
// workflows waiting for the application (they also re-check on their own timer).
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import { z } from 'zod';
import { ensureProbe, stopProbe, wakeWaiting } from '../../clients/quarantine.js';
import type { Logger } from '../../observability/logger.js';
import { appIdSchema } from '../../schemas/policy.js';
import { applicationPauses, applicationQuarantine, holdApplication, MAX_QUARANTINE_REASON, quarantinedApplications, releaseApplication, type ApplicationPause, type QuarantinedApplication, type Store } from '../../store/index.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type QuarantineRouteDeps = { client: Client; store: Store | undefined; logger: Logger; onRefused: RefusalHook; /** The deployment's base task queue: its waiting workflows are woken. */ taskQueue: string };

/** One quarantined application as GET /quarantine shows it. */
export type QuarantineView = { app: string; state: QuarantinedApplication['state']; reason: string; since: string; by: string; lastProbeAt?: string; lastProbeError?: string; release: string };

/** An application still asking for a pause (Retry-After) as GET /quarantine shows it: its calls wait until then, every worker's. */
export type PauseView = { app: string; until: string; remainingSeconds: number; release: string };

export type QuarantineChangeAnswer = { app: string; changed: boolean; previous: QuarantinedApplication['state'] | null; woken?: number; /** A release that lifted the application's Retry-After pause: when it would have ended. */ pauseLifted?: string };

/** A hold's or a release's body. Strict: an operator id (or anything else) is refused rather than dropped. */
export const quarantineChangeBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(MAX_QUARANTINE_REASON) });

/** The first read of a probe started again by a release (a quarantine that came back meanwhile). */
const RESTARTED_PROBE_FIRST_READ_MS = 5_000;

/** The command that releases an application. */
export const releaseCommand = (app: string) => `provisioner quarantine release ${app} --reason "<why>"`;

export function quarantineView(q: QuarantinedApplication): QuarantineView {
  return {
    app: q.app,
    state: q.state,
    reason: q.reason,
    since: q.since.toISOString(),
    by: q.actor,
    ...(q.lastProbeAt ? { lastProbeAt: q.lastProbeAt.toISOString() } : {}),
    ...(q.lastProbeError ? { lastProbeError: q.lastProbeError } : {}),
    release: releaseCommand(q.app),
  };
}

export function pauseView(p: ApplicationPause): PauseView {
  return { app: p.app, until: p.until.toISOString(), remainingSeconds: Math.ceil(p.remainingMs / 1000), release: releaseCommand(p.app) };
}

export function registerQuarantineRoutes(app: Express, deps: QuarantineRouteDeps): void {
  const { client, store, logger, onRefused, taskQueue } = deps;
  const noStore = 'this API runs without the governance store: quarantined applications cannot be read or changed';

  app.get('/quarantine', authorize('GET /quarantine', onRefused), async (_req, res) => {
    if (!store) return sendError(res, 503, 'no-store', noStore);
    const [applications, pauses] = await Promise.all([quarantinedApplications(store.pool), applicationPauses(store.pool)]);
    res.json({ applications: applications.map(quarantineView), pauses: pauses.map(pauseView) });
  });

  for (const verb of ['hold', 'release'] as const) {
    app.post(`/quarantine/:app/${verb}`, authorize(`POST /quarantine/:app/${verb}`, onRefused), async (req, res) => {
      if (!store) return sendError(res, 503, 'no-store', noStore);
      const id = appIdSchema.safeParse(req.params.app);
      if (!id.success) return sendError(res, 400, 'invalid-application', 'an application id is a lower-case name: letters, digits and dashes');
      const body = quarantineChangeBodySchema.safeParse(req.body ?? {});
      if (!body.success) return sendError(res, 400, 'invalid-body', `expected { reason: 1-${MAX_QUARANTINE_REASON} characters }: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).slice(0, 3).join('; ')}`);
      const operator = callerOf(res)!.employeeId;
      if (verb === 'hold') {
        const held = await holdApplication(store, { app: id.data, operatorId: operator, reason: body.data.reason });
        logger.info({ app: id.data, caller: operator, changed: held.changed }, held.changed ? 'application held' : 'application already held');
        const answer: QuarantineChangeAnswer = { app: id.data, ...held };
        return res.json(answer);
      }
      const released = await releaseApplication(store, { app: id.data, actor: { type: 'person', employeeId: operator }, reason: body.data.reason });
      if (!released.released) return sendError(res, 409, 'not-quarantined', `${id.data} is neither quarantined nor paused: nothing to release`);
      // The probe may sleep through the pause the release lifted: ended, the next quarantine starts its own.
      await stopProbe(client, id.data, taskQueue).catch((err: unknown) => logger.warn({ app: id.data, err: (err as Error).message }, 'quarantine release: could not end the probe'));
      // A worker may have quarantined it again between the release and the stop, and found the old
      // probe running: that quarantine gets a probe again, its first read soon (the probe then reads
      // at the interval the policy gives it).
      if (await applicationQuarantine(store.pool, id.data)) {
        await ensureProbe(client, { app: id.data, probeEveryMs: RESTARTED_PROBE_FIRST_READ_MS, taskQueue }).catch((err: unknown) => logger.warn({ app: id.data, err: (err as Error).message }, 'quarantine release: could not start the probe again'));
      }
      // The waiting workflows also re-check on their own timer: a failed wake-up only delays them.
      const woken = await wakeWaiting(client, id.data, taskQueue).catch((err: unknown) => {
        logger.warn({ app: id.data, err: (err as Error).message }, 'quarantine release: could not signal the waiting workflows');
        return 0;
      });
      logger.info({ app: id.data, caller: operator, woken, pauseLifted: released.pauseLifted?.toISOString() }, 'application released');
      const answer: QuarantineChangeAnswer = { app: id.data, changed: true, previous: released.previous, woken, ...(released.pauseLifted ? { pauseLifted: released.pauseLifted.toISOString() } : {}) };
      res.json(answer);
    });
  }
}
