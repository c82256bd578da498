// The directory (OpenLDAP slapd) down for a minute, time-compressed: the pipeline's LDAP application
// (drill-directory, in the drill's own subtree) lives on a slapd the drill owns (drills/own-slapd.ts,
// never the stack's), which is SIGKILLed at a seeded point of the workload, once it holds entries,
// and started again on the same data folder after `downMs`. SIGKILL rather than SIGTERM: a crash
// gives slapd no chance to flush or close anything, so its coming back with every entry it had
// acknowledged is what its mdb backend (LMDB's synchronous commits) is meant to give; a clean
// shutdown would prove less. While it is down the directory's steps fail with TransientError and
// Temporal retries them; the policy's quarantine (its probe time-compressed) may hold the
// application, and its probe releases it once slapd answers. The oracle reads the directory too,
// through the LDAP connector's listing. The evidence: the stop and start (pids, times, how long it
// was down), the entries listed before the stop and found after, the directory's connector errors,
// its retried activities, its quarantine. Its broken variant brings slapd back on an EMPTY data
// folder (as a container without a volume does): the entries made before the stop are gone.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../schemas/config.js';
import { appTaskQueue } from '../../workflows/task-queues.js';
import { startOwnedServer } from '../own-server.js';
import { ownSlapd, type OwnSlapd } from '../own-slapd.js';
import { retriedActivitiesOn } from '../people-histories.js';
import { exitedProcesses, loggedProblemsSince } from '../process-logs.js';
import { counterTotals } from '../process-metrics.js';
import { quarantineOf } from '../quarantine-audit.js';
import type { DrillQuarantine } from '../drill-policy.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

export type SlapdDownOptions = {
  /** How long slapd stays down (the minute, time-compressed). */
  downMs: number;
  /** Whether slapd comes back on its data folder (false: the broken variant, an empty one). */
  keepData: boolean;
  /**
   * The policy's quarantine in the drill's pipeline; default its probe time-compressed as the outage
   * is (the example's PT1M against a minute down). Each pipeline probes its own quarantines
   * (the probe's workflow id carries the pipeline's task queue).
   */
  quarantine?: DrillQuarantine;
};


/** The drill's servers, by the URL the pipeline uses (prepare makes them, inject stops them). */
const servers = new Map<string, OwnSlapd>();
type Seen = { pid: number; stoppedAt: number; serving: number; pidAfter: number; before: number; lost: string[] };
const seen = new WeakMap<ScenarioContext, Seen>();

async function prepare(base: Config, say: (line: string) => void): Promise<{ base: Config; undo(): Promise<void> }> {
  const server = await ownSlapd(base, 'slapd-down', say);
  const undo = await startOwnedServer(servers, server.cfg.ldap.url, server, () => server.remove());
  return { base: { ...base, ldap: server.cfg.ldap }, undo };
}

/**
 * The employee ids the directory holds accounts for (none when the drill's subtree is gone: the
 * listing says so). A read that fails (a slapd just restarted may refuse a moment) is tried again
 * and never taken for an empty directory, which would report every entry lost.
 */
async function directoryPeople(ctx: ScenarioContext): Promise<Set<string>> {
  const directory = ctx.pipeline.directory;
  if (!directory) return new Set();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const view = await directory.view();
      return new Set(view.accounts.map((a) => a.externalId).filter(Boolean));
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(1_000);
    }
  }
}

function inject(o: SlapdDownOptions) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const server = servers.get(ctx.pipeline.cfg.ldap.url);
    if (!server || !ctx.pipeline.directory) throw new Error(`slapd-down: no drill-owned slapd at ${ctx.pipeline.cfg.ldap.url} with a directory application (the scenario's prepare starts one)`);
    // A seeded point in the first half of the workload, and not before the directory holds an
    // entry: a stop before the first write would show nothing of the data surviving it.
    await sleep(ctx.expectedMs * (0.15 + ctx.random() * 0.35));
    let before = await directoryPeople(ctx);
    for (const deadline = Date.now() + 120_000; before.size === 0 && Date.now() < deadline; before = await directoryPeople(ctx)) await sleep(500);
    const stoppedAt = Date.now();
    const pid = await server.stop('SIGKILL');
    if (pid === undefined) throw new Error('slapd-down: the drill\'s slapd was not running');
    ctx.timeline.push({ at: stoppedAt, what: `SIGKILL the drill's slapd (pid ${pid}), holding ${before.size} people's accounts; down for ${o.downMs / 1000} s` });
    await ctx.tabletop(`the directory (slapd pid ${pid}) is down; it comes back ${o.downMs / 1000} s after the stop`);
    await sleep(Math.max(0, stoppedAt + o.downMs - Date.now()));
    if (!o.keepData) {
      rmSync(server.dataDir, { recursive: true, force: true });
      ctx.timeline.push({ at: Date.now(), what: 'the directory\'s storage is gone: slapd starts on an EMPTY data folder' });
    }
    const pidAfter = (await server.start()) ?? 0;
    const serving = Date.now();
    // What came back of what it held: read at once, before the pipeline writes much again.
    const after = await directoryPeople(ctx);
    const lost = [...before].filter((id) => !after.has(id));
    ctx.timeline.push({ at: serving, what: `slapd serving again (pid ${pidAfter}) ${((serving - stoppedAt) / 1000).toFixed(1)} s after the stop; ${before.size - lost.length} of those ${before.size} accounts there` });
    seen.set(ctx, { pid, stoppedAt, serving, pidAfter, before: before.size, lost });
    await ctx.published;
  };
}

async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const s = seen.get(ctx);
  const app = ctx.pipeline.directory?.app ?? 'none';
  const since = s?.stoppedAt ?? Number.POSITIVE_INFINITY;
  const retried = s ? await retriedActivitiesOn(ctx, people, appTaskQueue(ctx.pipeline.cfg.temporal.taskQueue, app), since - 1000) : { retriedActivities: 0, peopleRetried: 0 };
  const errors = await counterTotals(ctx.pipeline, 'worker', ['provisioner_connector_errors_total'], { app });
  const logged = loggedProblemsSince(ctx.pipeline, since);
  return {
    app,
    signal: 'SIGKILL',
    stoppedPid: s?.pid ?? 0,
    restartedPid: s?.pidAfter ?? 0,
    stoppedAt: s ? new Date(s.stoppedAt).toISOString() : 'never',
    servingAgainAt: s ? new Date(s.serving).toISOString() : 'never',
    downMs: s ? s.serving - s.stoppedAt : 0,
    entriesBeforeStop: s?.before ?? 0,
    entriesLostInRestart: s?.lost.length ?? 0,
    lostEntries: s?.lost.slice(0, 10).join(', ') || 'none',
    directoryConnectorErrors: errors['provisioner_connector_errors_total'] ?? 0,
    retriedDirectoryActivities: retried.retriedActivities,
    peopleRetriedOnDirectory: retried.peopleRetried,
    ...(await quarantineOf(ctx, app)),
    workerProblemsLogged: logged.lines.worker,
    loggedMessages: logged.messages.slice(0, 6).join('; ') || 'none',
    processesExited: exitedProcesses(ctx.pipeline),
  };
}

export function slapdDownOf(o: SlapdDownOptions): Scenario {
  return {
    name: 'slapd-down',
    fault: `the drill's own slapd (the directory) SIGKILLed mid-workload and started again ${o.downMs / 1000} s later${o.keepData ? ' on the same data folder' : ' on an EMPTY data folder'}`,
    defaults: { joiners: 60, rate: 3, leaverShare: 0.05 },
    pipeline: { directory: true, quarantine: o.quarantine ?? { failures: 20, window: 'PT5M', probeEvery: 'PT5S' } },
    prepare,
    inject: inject(o),
    evidence,
    tabletop: [
      'Dashboard "Connector errors by class": TransientError for drill-directory while slapd is down; "Failures by application (share of step attempts)" rises for it (docs/runbook.md#provisionerstepfailureshigh)',
      'Dashboard "Quarantined applications": the directory held once its failures pass the policy\'s threshold, released by the probe when slapd answers; alert ProvisionerApplicationQuarantined (docs/runbook.md#provisionerapplicationquarantined); `npx provisioner quarantine list`',
      'Is slapd up? `ldapsearch -x -H <ldap.url> -D <ldap.bindDn> -W -b <ldap.baseDn> -s base` (the drill\'s own slapd: ldap.url in the run folder\'s worker-0.yaml); for the stack\'s, `npx provisioner stack status`',
      'A joiner\'s history in the Temporal UI: the directory\'s activities retried (attempt > 1, last failure TransientError); until the directory is quarantined a change\'s plan waits on its read of it (readAccount), the SCIM apps\' steps too; once quarantined, they carry on and the change waits for the directory (`npx provisioner status`: waiting for an application)',
      'Nothing to do by hand when slapd comes back on its data: the retries and the probe finish the work; back EMPTY, restore the directory from backup before releasing the quarantine',
    ],
    // slapd died and came back, and the pipeline felt it: the directory's activities retried, or the application quarantined.
    hit: (e) => Number(e.stoppedPid) > 0 && Number(e.restartedPid) > 0 && Number(e.retriedDirectoryActivities) + Number(e.quarantined) > 0,
    checks: (e) => ({
      'slapd came back with its data (every entry listed before the stop is there after)': Number(e.entriesBeforeStop) > 0 && Number(e.entriesLostInRestart) === 0,
      'every worker and ingress process rode out the outage (none exited)': e.processesExited === 'none',
    }),
  };
}

/** The registered drill: down 20 s (the minute, time-compressed), back on its data folder. */
export const slapdDown = slapdDownOf({ downMs: 20_000, keepData: true });
