// The PostgreSQL server holding the pipeline's store (its audit trail, identities, fence, keys'
// records) stopped as a crash stops it, `pg_ctl stop -m immediate` (no checkpoint, every session
// cut), at a seeded random point of the workload and started again a few seconds later: it runs
// crash recovery from its write-ahead log. The server is one the drill owns (drills/own-postgres.ts),
// never the stack's. While it is down the activities that touch the store fail and Temporal retries
// them; the audit chain must come out whole, every change audited once. The evidence: the crash and
// restart, the server's own log of its recovery, the activities retried after the crash, what the
// workers logged. Its broken variant brings the database back EMPTY (the data folder initialised
// again, as a container without a volume does): the store's tables and audit trail are gone.
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import type { Config } from '../../schemas/config.js';
import { ownPostgres, type OwnPostgres } from '../own-postgres.js';
import { startOwnedServer } from '../own-server.js';
import { forEachHistory } from '../people-histories.js';
import { exitedProcesses, loggedProblemsSince } from '../process-logs.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

/** How long the server stays down: long enough for the activities under way to fail on it. */
const DOWN_MS = 3_000;

/** The drill's servers, by the port the pipeline uses (prepare makes them, inject crashes them). */
const servers = new Map<number, OwnPostgres>();
type Seen = { pid: number; killedAt: number; serving: number; pidAfter: number; logFrom: number };
const seen = new WeakMap<ScenarioContext, Seen>();

const serverLog = (server: OwnPostgres): string => {
  try {
    return readFileSync(server.logFile, 'utf8');
  } catch {
    return '';
  }
};

async function prepare(base: Config, say: (line: string) => void): Promise<{ base: Config; undo(): Promise<void> }> {
  const server = await ownPostgres(base, 'postgres-restart', say);
  const undo = await startOwnedServer(servers, server.cfg.postgres.port, server, () => server.remove());
  return { base: { ...base, postgres: server.cfg.postgres }, undo };
}

function inject(durable: boolean) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const server = servers.get(ctx.pipeline.cfg.postgres.port);
    if (!server) throw new Error(`postgres-restart: no drill-owned PostgreSQL on port ${ctx.pipeline.cfg.postgres.port} (the scenario's prepare starts one)`);
    // A random point in the first half of the workload.
    await sleep(ctx.expectedMs * (0.15 + ctx.random() * 0.35));
    const logFrom = serverLog(server).length;
    const killedAt = Date.now();
    const pid = await server.crash();
    if (pid === undefined) throw new Error('postgres-restart: the drill\'s PostgreSQL was not running');
    ctx.timeline.push({ at: killedAt, what: `immediate shutdown (SIGQUIT, as pg_ctl stop -m immediate) of the drill's PostgreSQL (pid ${pid})` });
    await sleep(DOWN_MS);
    if (!durable) {
      rmSync(server.dataDir, { recursive: true, force: true });
      ctx.timeline.push({ at: Date.now(), what: 'the server\'s storage is gone: its data folder will be initialised again' });
    }
    const pidAfter = (await server.start()) ?? 0;
    const serving = Date.now();
    ctx.timeline.push({ at: serving, what: `PostgreSQL serving again (pid ${pidAfter}) ${((serving - killedAt) / 1000).toFixed(1)} s after the crash` });
    seen.set(ctx, { pid, killedAt, serving, pidAfter, logFrom });
    await ctx.published;
  };
}

async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const s = seen.get(ctx);
  const server = servers.get(ctx.pipeline.cfg.postgres.port);
  const since = s?.killedAt ?? Number.POSITIVE_INFINITY;
  let retriedActivities = 0;
  let activityFailures = 0;
  await forEachHistory(ctx, people, (_id, events) => {
    for (const e of events) {
      if ((optionalTsToMs(e.eventTime) ?? 0) < since - 1000) continue;
      if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedActivities += 1;
      if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) activityFailures += 1;
    }
  });
  const log = server && s ? serverLog(server).slice(s.logFrom) : '';
  const logged = loggedProblemsSince(ctx.pipeline, since);
  const head = await ctx.pipeline.store.pool.query<{ seq: string }>('select seq from audit_head').then((r) => Number(r.rows[0]?.seq ?? 0)).catch(() => 0);
  return {
    crashedPid: s?.pid ?? 0,
    restartedPid: s?.pidAfter ?? 0,
    downMs: s ? s.serving - s.killedAt : 0,
    crashRecovery: /automatic recovery in progress/.test(log) ? 'yes' : 'no',
    retriedActivitiesAfterCrash: retriedActivities,
    activitiesFailedAfterCrash: activityFailures,
    auditRecords: head,
    workerProblemsLogged: logged.lines.worker,
    ingressProblemsLogged: logged.lines.ingress,
    loggedMessages: logged.messages.slice(0, 6).join('; ') || 'none',
    processesExited: exitedProcesses(ctx.pipeline),
  };
}

export function postgresRestartOf(options: { durable: boolean }): Scenario {
  return {
    name: 'postgres-restart',
    fault: `the drill's own PostgreSQL (the store) stopped as a crash stops it (pg_ctl stop -m immediate) mid-workload and started again ${DOWN_MS / 1000} s later${options.durable ? ', recovering from its WAL' : ' with its data folder initialised again (EMPTY)'}`,
    defaults: { joiners: 60, rate: 5, leaverShare: 0.05 },
    prepare,
    inject: inject(options.durable),
    evidence,
    // The server died and came back, and the workers felt it: store calls failed and were retried.
    hit: (e) => Number(e.crashedPid) > 0 && Number(e.restartedPid) > 0 && Number(e.retriedActivitiesAfterCrash) + Number(e.workerProblemsLogged) > 0,
    checks: (e) => ({
      'the server recovered from its write-ahead log': e.crashRecovery === 'yes',
      'every worker and ingress process rode out the restart (none exited)': e.processesExited === 'none',
    }),
  };
}

export const postgresRestart = postgresRestartOf({ durable: true });
