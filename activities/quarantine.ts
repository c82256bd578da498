// Quarantine at the activity boundary. Every connector call of a step or a plan's read runs through
// the guard: a quarantined application is not called (the activity fails fast with a
// non-retryable `ApplicationQuarantined`, and the identity workflow waits for the release instead
// of burning retries), and a retryable failure is counted in the store across workers, past the
// policy's threshold quarantining the application. The probe (workflows/application-quarantine.ts)
// reads the application with one cheap call and releases it when it answers.
// The guard also keeps the pause an application asks for with Retry-After (store/application-backoff.ts):
// a Retry-After given to one call holds every worker's calls to the application until it has
// passed (each waits as a Temporal retry, `ApplicationPaused`), so a quarantine's release never
// sends the woken workflows back early, and the probe waits for it too.
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { ensureProbe, wakeWaiting } from '../clients/quarantine.js';
import { can, type Connector } from '../connectors/contract.js';
import { ConnectorError } from '../connectors/errors.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { countsTowardQuarantine, quarantineSettings } from '../policy/quarantine.js';
import { applicationBackoffRemainingMs, applicationQuarantine, boundedPauseMs, PROBE_ACTOR, recordApplicationBackoff, recordApplicationFailure, recordProbe, releaseApplication, type QuarantineState, type Store } from '../store/index.js';
import { APPLICATION_PAUSED, APPLICATION_QUARANTINED, type QuarantinedDetails } from '../workflows/messages.js';
import { callContext } from './call-context.js';


/**
 * How stale a worker's view of the quarantined applications may be: a hold or a release takes
 * effect for the calls that start this long after it (a call already under way finishes).
 */
export const QUARANTINE_MAX_AGE_MS = 1_000;

/** The pause a failure asks for: a retryable connector error's Retry-After, or the next retry delay it became at the boundary. */
export function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof ConnectorError) return err.retryable ? err.retryAfterMs : undefined;
  if (err instanceof ApplicationFailure && !err.nonRetryable && typeof err.nextRetryDelay === 'number') return err.nextRetryDelay;
  return undefined;
}

export type QuarantineDeps = {
  policy: () => CompiledPolicy;
  store: Store;
  logger: Logger;
  connectors: ReadonlyMap<string, Connector>;
  /** Starts probes and wakes waiting workflows; without it (tests of single activities) they rely on their timers. */
  temporal?: { client: Client; taskQueue: string };
};

export type QuarantineGuard = {
  /** Runs one connector call of `app`, unless it is quarantined; counts its retryable failure. */
  run<T>(app: string, call: () => Promise<T>): Promise<T>;
};

/** The pause an application asked for with Retry-After, as every caller of it keeps it (the store's, or this worker's when the store could not take it). */
export type ApplicationPauses = {
  /** How long `app` still asks every caller to wait, ms (0: it does not). */
  remainingMs(app: string): Promise<number>;
  /** A failure that carries a Retry-After pauses `app` for every worker. */
  remember(app: string, err: unknown): Promise<void>;
};

export function createQuarantine(deps: QuarantineDeps) {
  const { store, logger } = deps;
  const settings = (app: string) => quarantineSettings(deps.policy().model, app);
  const cache = new Map<string, { at: number; state: QuarantineState | undefined }>();

  async function stateOf(app: string): Promise<QuarantineState | undefined> {
    const cached = cache.get(app);
    if (cached && Date.now() - cached.at < QUARANTINE_MAX_AGE_MS) return cached.state;
    const state = (await applicationQuarantine(store.pool, app))?.state;
    cache.set(app, { at: Date.now(), state });
    return state;
  }

  function quarantined(app: string, state: QuarantineState): ApplicationFailure {
    const details: QuarantinedDetails = { app, state, recheckMs: settings(app).probeEveryMs };
    const by = state === 'held' ? 'held by an operator' : 'quarantined after repeated failures';
    return ApplicationFailure.create({ type: APPLICATION_QUARANTINED, message: `${app} is ${by}: the step waits for its release (provisioner quarantine list)`, nonRetryable: true, details: [details] });
  }

  /**
   * Pauses this worker could not share (the store's write failed), until when on this worker's
   * clock; a shared pause lives in the store alone, so an operator's release lifts it for every worker.
   */
  const unshared = new Map<string, number>();

  /** How long `app` still asks every caller to wait, ms: what any worker recorded, or this one could not (never cached). */
  async function pauseOf(app: string): Promise<number> {
    const here = (unshared.get(app) ?? 0) - Date.now();
    if (here <= 0) unshared.delete(app);
    return Math.max(here, await applicationBackoffRemainingMs(store.pool, app));
  }

  /** A failure that carries a Retry-After pauses the application for every worker (at most MAX_APPLICATION_PAUSE_MS). */
  async function rememberPause(app: string, err: unknown): Promise<void> {
    const asked = retryAfterOf(err);
    if (asked === undefined || asked <= 0) return;
    const ms = boundedPauseMs(asked);
    // Not recording it must not hide the application's own failure: this worker keeps the pause, and
    // the other workers learn it from their own calls.
    await recordApplicationBackoff(store.pool, app, ms).catch((e: unknown) => {
      unshared.set(app, Math.max(unshared.get(app) ?? 0, Date.now() + ms));
      logger.warn({ app, err: (e as Error).message }, "could not share the application's Retry-After with the other workers");
    });
  }

  function pausedFailure(app: string, ms: number): ApplicationFailure {
    // A little later than the pause, spread: the calls it held do not all come back at one instant.
    const delay = ms + Math.floor(Math.random() * Math.min(1_000, ms / 5));
    return ApplicationFailure.create({ type: APPLICATION_PAUSED, message: `${app} asked for no call for another ${ms} ms (Retry-After): not called, retried once it has passed`, nextRetryDelay: delay, details: [{ app }] });
  }

  async function startProbe(app: string): Promise<void> {
    if (!deps.temporal) return;
    await ensureProbe(deps.temporal.client, { app, probeEveryMs: settings(app).probeEveryMs, taskQueue: deps.temporal.taskQueue });
  }

  const guard: QuarantineGuard = {
    async run(app, call) {
      const state = await stateOf(app);
      if (state !== undefined) throw quarantined(app, state);
      const pause = await pauseOf(app);
      // A pause longer than the probe interval is waited for in quarantine (below): durably, not against the step's deadline.
      if (pause > 0) throw pause > settings(app).probeEveryMs ? quarantined(app, 'quarantined') : pausedFailure(app, pause);
      try {
        return await call();
      } catch (err) {
        await rememberPause(app, err);
        if (!countsTowardQuarantine(err)) throw err;
        const s = settings(app);
        // The class, never the message (it can name a person): a failure the boundary converted keeps it as its type.
        const errorType = err instanceof ApplicationFailure ? (err.type ?? err.name) : err instanceof Error ? err.name : 'Error';
        // A Retry-After longer than the probe interval quarantines the application at once: its steps
        // (and undos) would otherwise each fail when the pause outlasts their 15-minute deadline, and
        // the probe, which waits for the pause, releases it once it has passed.
        const wait = boundedPauseMs(retryAfterOf(err) ?? 0);
        const long = wait > s.probeEveryMs
          ? { failures: 1, reason: `${app} asked for a pause of ${Math.ceil(wait / 1000)} s (Retry-After), longer than its probe interval ${s.probeEvery}; its steps wait until the probe (after the pause) or an operator releases it` }
          : undefined;
        const recorded = await recordApplicationFailure(store, { app, errorType, failures: long?.failures ?? s.failures, window: s.window, windowMs: s.windowMs, ...(long ? { reason: long.reason } : {}) });
        if (!recorded.quarantined) throw err;
        cache.set(app, { at: Date.now(), state: 'quarantined' });
        if (recorded.newly) {
          logger.warn({ app, failures: recorded.failures, window: s.window }, 'application quarantined');
          await startProbe(app).catch((e: unknown) => logger.warn({ app, err: (e as Error).message }, 'quarantine: could not start the probe (waiting workflows start it)'));
        }
        throw quarantined(app, 'quarantined');
      }
    },
  };

  /** One cheap read: the first page of one account, or an absent person's account. */
  async function healthRead(app: string): Promise<void> {
    const c = deps.connectors.get(app);
    if (!c) throw new Error(`no connector is configured for application ${app}`);
    const call = callContext(`quarantine/${app}/probe/${Date.now()}`);
    if (can(c, 'list-accounts')) await c.listAccounts!({ pageSize: 1 }, call);
    else await c.getAccount({ employeeId: 'quarantine-probe' }, call);
  }

  const activities = {
    /** Which of `apps` are still quarantined (each with its probe running), for the workflows that wait for them. */
    async quarantinedApplicationsOf(input: { apps: string[] }): Promise<{ waiting: QuarantinedDetails[] }> {
      const waiting: QuarantinedDetails[] = [];
      for (const app of input.apps) {
        const row = await applicationQuarantine(store.pool, app);
        if (!row) continue;
        waiting.push({ app, state: row.state, recheckMs: settings(app).probeEveryMs });
        // Whoever waits keeps the probe alive (its start when the application was quarantined may have failed).
        await startProbe(app);
      }
      return { waiting };
    },

    /**
     * The probe: reads the application once; a success releases a quarantined one and wakes who
     * waits. While the application asks for a pause it is not read, and the next probe waits for it.
     */
    async probeApplication(input: { app: string }): Promise<{ state: QuarantineState | 'released'; healthy: boolean; probeEveryMs: number }> {
      const { app } = input;
      const probeEveryMs = settings(app).probeEveryMs;
      const row = await applicationQuarantine(store.pool, app);
      if (!row) return { state: 'released', healthy: true, probeEveryMs };
      const pause = await pauseOf(app);
      if (pause > 0) return { state: row.state, healthy: false, probeEveryMs: Math.max(probeEveryMs, pause) };
      try {
        await healthRead(app);
      } catch (err) {
        await rememberPause(app, err);
        await recordProbe(store.pool, app, err instanceof Error ? err.name : 'Error');
        logger.info({ app, err: err instanceof Error ? err.name : 'Error' }, 'quarantine probe: still failing');
        return { state: row.state, healthy: false, probeEveryMs: Math.max(probeEveryMs, boundedPauseMs(retryAfterOf(err) ?? 0)) };
      }
      await recordProbe(store.pool, app, null);
      // Held by an operator: healthy or not, only an operator releases it.
      if (row.state === 'held') return { state: 'held', healthy: true, probeEveryMs };
      const { released } = await releaseApplication(store, { app, actor: PROBE_ACTOR, onlyIf: 'quarantined' });
      cache.delete(app);
      if (released) logger.info({ app }, 'quarantine probe: the application answers again, released');
      if (deps.temporal) await wakeWaiting(deps.temporal.client, app, deps.temporal.taskQueue);
      return { state: released ? 'released' : (await applicationQuarantine(store.pool, app))?.state ?? 'released', healthy: true, probeEveryMs };
    },
  };
  const pauses: ApplicationPauses = { remainingMs: pauseOf, remember: rememberPause };
  return { guard, activities, pauses };
}
