// One drill SCIM application goes down in the middle of the workload: from a seeded point it answers
// every SCIM request 503 with Retry-After (the issue's ten-minute outage, time-compressed to
// seconds), then, as it comes back, rate-limits: a token bucket answering the excess 429 with
// Retry-After, and then it is healthy. The pipeline retries (Temporal, with the connector's Retry-After as the next delay), the
// policy's application quarantine (its probe time-compressed too) stops the calls while the app
// keeps failing, and the oracle checks everyone converges. The scenario's own check is read from
// the app's side (targets/retry-after-watch.ts): no request from a caller (its X-Correlation-Id, a
// workflow id) came before the Retry-After that caller was given had passed. The pipeline keeps a
// Retry-After for every caller of the app (activities/quarantine.ts: the app's pause, shared by the
// workers), through the quarantine's release and its probe.
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyTally, readFaults, setFaults, type FaultTally } from '../app-faults.js';
import type { DrillQuarantine } from '../drill-policy.js';
import { retriedActivities } from '../people-histories.js';
import { quarantineOf } from '../quarantine-audit.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

export type OutageOptions = {
  /** How long every SCIM request is answered 503. */
  outageMs: number;
  /** How long the app then rate-limits (429 + Retry-After). */
  rateLimitedMs: number;
  /** The Retry-After the app sends with its 503s and its 429s. */
  retryAfterSeconds: number;
  /** The app's rate limit while it comes back. */
  rateLimit: { requestsPerSecond: number; burst: number };
  /** The policy's quarantine in the drill's pipeline (its probe interval time-compressed as the outage is). */
  quarantine: DrillQuarantine;
  /** The drill apps' connector setting `maxRetryAfterSeconds` (unset: every Retry-After honoured whole). */
  honouredRetryAfterSeconds?: number;
};


const injected = new WeakMap<ScenarioContext, { app: string; tally: FaultTally }>();

function outageInject(o: OutageOptions) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { apps } = ctx.pipeline;
    const victim = apps[Math.floor(ctx.random() * apps.length)]!;
    const tally = emptyTally();
    injected.set(ctx, { app: victim.name, tally });
    // A seeded point in the first half of the workload.
    await sleep(ctx.expectedMs * (0.1 + ctx.random() * 0.4));
    const retryAfterSeconds = o.retryAfterSeconds;
    await setFaults(victim, { errorRate: 1, errorStatus: 503, retryAfterSeconds }, tally);
    ctx.timeline.push({ at: Date.now(), what: `${victim.name} down: every SCIM request answered 503 with Retry-After ${retryAfterSeconds} s for ${o.outageMs / 1000} s` });
    await sleep(o.outageMs);
    const r = o.rateLimit;
    await setFaults(victim, { rateLimit: { ...r, retryAfterSeconds } }, tally);
    ctx.timeline.push({ at: Date.now(), what: `${victim.name} back, rate-limited for ${o.rateLimitedMs / 1000} s: ${r.requestsPerSecond}/s (burst ${r.burst}), the excess answered 429 with Retry-After ${retryAfterSeconds} s (${tally.failed} answered 503)` });
    await sleep(o.rateLimitedMs);
    await setFaults(victim, {}, tally);
    ctx.timeline.push({ at: Date.now(), what: `${victim.name} healthy (${tally.rateLimited} answered 429)` });
  };
}

/** From the app: what it served and whether its Retry-After was kept; from the histories: retried activities; from the audit trail: the quarantine. */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const seen = injected.get(ctx);
  const app = ctx.pipeline.apps.find((a) => a.name === seen?.app);
  if (!seen || !app) return { app: 'none' };
  const view = await readFaults(app);
  const retried = await retriedActivities(ctx, people);
  // The quarantine's changes of state, from the audit trail, go on the timeline too.
  const quarantine = await quarantineOf(ctx, app.name);
  return {
    app: app.name,
    served503: seen.tally.failed + view.injected.failed,
    served429: seen.tally.rateLimited + view.injected.rateLimited,
    retryAfterGiven: view.retryAfter.given,
    rateLimitBreaches: view.retryAfter.breaches,
    breachingCallers: view.retryAfter.breachingCallers.join(', ') || 'none',
    earliestBreachMs: view.retryAfter.earliestBreachMs,
    requestsWhileAnyCallerWasToldToWait: view.retryAfter.duringAnyRetryAfter,
    ...retried,
    ...quarantine,
  };
}

export function scimOutageOf(o: OutageOptions): Scenario {
  return {
    name: 'scim-outage',
    fault: `one drill SCIM app answers 503 for ${o.outageMs / 1000} s from a seeded point of the workload, then 429 beyond ${o.rateLimit.requestsPerSecond}/s for ${o.rateLimitedMs / 1000} s (both with Retry-After ${o.retryAfterSeconds} s), then is healthy${o.honouredRetryAfterSeconds ? `; its connector honours at most ${o.honouredRetryAfterSeconds} s of a Retry-After` : ''}`,
    defaults: { joiners: 60, rate: 5, leaverShare: 0.05 },
    pipeline: { quarantine: o.quarantine, ...(o.honouredRetryAfterSeconds ? { connector: { maxRetryAfterSeconds: o.honouredRetryAfterSeconds } } : {}) },
    inject: outageInject(o),
    evidence,
    // The app served both, and the pipeline felt it: activities retried or the app quarantined.
    hit: (e) => Number(e.served503) > 0 && Number(e.served429) > 0 && Number(e.retriedActivities) + Number(e.quarantined) > 0,
    checks: (e) => ({
      'no caller came back before the Retry-After it was given had passed (rate-limit breaches 0)': Number(e.rateLimitBreaches) === 0,
    }),
  };
}

/** The registered drill: 20 s down, 15 s rate-limited, Retry-After 3 s; the quarantine probe every 5 s (the example's PT1M compressed). */
export const scimOutage = scimOutageOf({
  outageMs: 20_000,
  rateLimitedMs: 15_000,
  retryAfterSeconds: 3,
  rateLimit: { requestsPerSecond: 2, burst: 2 },
  quarantine: { failures: 20, window: 'PT5M', probeEvery: 'PT5S' },
});
