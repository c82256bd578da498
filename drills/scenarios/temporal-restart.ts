// The Temporal server the pipeline's workers, ingresses and client use SIGKILLed (a crash) at a
// seeded random point of the workload and started again a few seconds later on the same SQLite
// file. The server is one the drill owns (drills/own-temporal.ts), never the stack's. While it is
// down the ingresses' signals fail and are retried (the batch is not committed until Temporal has
// it), the workers' polls fail and reconnect, and the workflow tasks the server had dispatched to
// them time out once it is back. The evidence: the crash and restart times, the workflow task
// timeouts and retried activities after the crash, the signals that reached a workflow twice, and
// what the workers and ingresses logged. Its broken variant runs Temporal without persistence (the
// file gone on restart, as a container without a volume loses it): the workflows are gone.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import type { Config } from '../../schemas/config.js';
import { hrEventReceived } from '../../workflows/messages.js';
import { startOwnedServer } from '../own-server.js';
import { ownTemporal, type OwnTemporal } from '../own-temporal.js';
import { forEachHistory } from '../people-histories.js';
import { exitedProcesses, loggedProblemsSince } from '../process-logs.js';
import { counterTotals } from '../process-metrics.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

/** How long the server stays down: long enough for every worker poll and ingress signal to fail. */
const DOWN_MS = 3_000;

/** The drill's servers, by the address the pipeline uses (prepare makes them, inject crashes them). */
const servers = new Map<string, OwnTemporal>();
/** The Temporal SDK's counters of failed calls to the server (polls are the long requests). */
const FAILURES = ['temporal_long_request_failure_total', 'temporal_request_failure_total'] as const;
type Seen = { pid: number; killedAt: number; restartedAt: number; serving: number; pidAfter: number; pollFailures: number; requestFailures: number };
const seen = new WeakMap<ScenarioContext, Seen>();

async function prepare(base: Config, say: (line: string) => void): Promise<{ base: Config; undo(): Promise<void> }> {
  const server = await ownTemporal(base, 'temporal-restart', say);
  const undo = await startOwnedServer(servers, server.cfg.temporal.address, server, () => server.stop());
  return { base: { ...base, temporal: server.cfg.temporal }, undo };
}

function inject(persistent: boolean) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const server = servers.get(ctx.pipeline.cfg.temporal.address);
    if (!server) throw new Error(`temporal-restart: no drill-owned Temporal server at ${ctx.pipeline.cfg.temporal.address} (the scenario's prepare starts one)`);
    // A random point in the first half of the workload.
    await sleep(ctx.expectedMs * (0.15 + ctx.random() * 0.35));
    const before = await counterTotals(ctx.pipeline, 'worker', FAILURES);
    const killedAt = Date.now();
    const pid = await server.crash();
    if (pid === undefined) throw new Error('temporal-restart: the drill\'s Temporal server was not running');
    ctx.timeline.push({ at: killedAt, what: `SIGKILL the drill's Temporal server (pid ${pid})` });
    await sleep(DOWN_MS);
    if (!persistent) {
      for (const f of [server.dbFile, `${server.dbFile}-wal`, `${server.dbFile}-shm`]) rmSync(f, { force: true });
      ctx.timeline.push({ at: Date.now(), what: 'the server\'s storage is gone (no persistence): its SQLite file removed' });
    }
    const restartedAt = Date.now();
    const pidAfter = (await server.start()) ?? 0;
    const serving = Date.now();
    ctx.timeline.push({ at: serving, what: `Temporal serving again (pid ${pidAfter}) ${((serving - killedAt) / 1000).toFixed(1)} s after the crash, ${((serving - restartedAt) / 1000).toFixed(1)} s after its start` });
    await ctx.published;
    const after = await counterTotals(ctx.pipeline, 'worker', FAILURES);
    const delta = (name: (typeof FAILURES)[number]) => after[name]! - before[name]!;
    seen.set(ctx, { pid, killedAt, restartedAt, serving, pidAfter, pollFailures: delta('temporal_long_request_failure_total'), requestFailures: delta('temporal_request_failure_total') });
  };
}

/** From the servers after the drill: the restart, the workflows' histories, the processes' logs. */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const s = seen.get(ctx);
  const since = s?.killedAt ?? Number.POSITIVE_INFINITY;
  let workflowTaskTimeouts = 0;
  let activityTimeouts = 0;
  let retriedActivities = 0;
  let signals = 0;
  let signalsAfterRestart = 0;
  let workflows = 0;
  await forEachHistory(ctx, people, (_id, events) => {
    if (events.length > 0) workflows += 1;
    for (const e of events) {
      const at = optionalTsToMs(e.eventTime) ?? 0;
      if (e.workflowExecutionSignaledEventAttributes?.signalName === hrEventReceived.name) {
        signals += 1;
        if (s && at >= s.serving - 1000) signalsAfterRestart += 1;
      }
      if (at < since - 1000) continue;
      if (e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes) workflowTaskTimeouts += 1;
      if (e.activityTaskTimedOutEventAttributes) activityTimeouts += 1;
      if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedActivities += 1;
    }
  });
  const published = people.reduce((n, id) => n + (ctx.ledger.get(id)?.eventIds.length ?? 0), 0);
  const logged = loggedProblemsSince(ctx.pipeline, since);
  return {
    crashedPid: s?.pid ?? 0,
    restartedPid: s?.pidAfter ?? 0,
    downMs: s ? s.serving - s.killedAt : 0,
    startToServingMs: s ? s.serving - s.restartedAt : 0,
    workerPollFailures: s?.pollFailures ?? 0,
    workerRequestFailures: s?.requestFailures ?? 0,
    workflowsFound: workflows,
    workflowTaskTimeoutsAfterCrash: workflowTaskTimeouts,
    activityTimeoutsAfterCrash: activityTimeouts,
    retriedActivitiesAfterCrash: retriedActivities,
    eventsPublished: published,
    signalsReceived: signals,
    redeliveredSignals: signals - published,
    // Handed over once the server was back: what the ingress held (uncommitted) and retried meanwhile.
    signalsAfterRestart,
    workerProblemsLogged: logged.lines.worker,
    ingressProblemsLogged: logged.lines.ingress,
    loggedMessages: logged.messages.slice(0, 6).join('; ') || 'none',
    processesExited: exitedProcesses(ctx.pipeline),
  };
}

export function temporalRestartOf(options: { persistent: boolean }): Scenario {
  return {
    name: 'temporal-restart',
    fault: `the drill's own Temporal server SIGKILLed mid-workload and started again ${DOWN_MS / 1000} s later${options.persistent ? ' on the same SQLite file' : ' WITHOUT its storage'}`,
    defaults: { joiners: 60, rate: 5, leaverShare: 0.05 },
    prepare,
    inject: inject(options.persistent),
    evidence,
    // The server died and came back, and the processes that use it saw it: their errors or the
    // workflow tasks it had dispatched timing out.
    hit: (e) => Number(e.crashedPid) > 0 && Number(e.restartedPid) > 0 && Number(e.workerPollFailures) + Number(e.workerRequestFailures) + Number(e.workerProblemsLogged) + Number(e.ingressProblemsLogged) + Number(e.workflowTaskTimeoutsAfterCrash) > 0,
    checks: (e) => ({
      'every worker and ingress process rode out the restart (none exited)': e.processesExited === 'none',
    }),
  };
}

export const temporalRestart = temporalRestartOf({ persistent: true });
