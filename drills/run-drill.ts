// One drill, start to end: its own pipeline, the seeded workload published while the scenario
// injects its fault, quiescence, the oracle, the evidence, and the report.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import { createKafka } from '../kafka/client.js';
import type { Config } from '../schemas/config.js';
import { getState, identityWorkflowId } from '../workflows/messages.js';
import { startDrillPipeline } from './drill-pipeline.js';
import { oraclePassed, runOracle } from './oracle.js';
import type { DrillReport } from './report.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { seededRandom } from './seeded-random.js';
import { buildWorkload, publishWorkload, type LedgerEntry, type PublishOutcome } from './workload.js';
import { temporalUiUrl } from '../stack/temporal.js';
import { onCluster } from './drill-cluster.js';
import { onInterrupt } from './interrupt.js';
import { drillMetrics, registerDrillTargets } from './drill-metrics.js';
import { drillSteps, noTabletop, whereToLook, type Tabletop } from './tabletop.js';

export type DrillOptions = {
  joiners?: number;
  rate?: number;
  seed?: number;
  kills?: number;
  quiesceTimeoutMs?: number;
  /** Worker and ingress processes; default two of each, as a production deployment runs them (a test may run one). */
  workers?: number;
  ingresses?: number;
  say?: (line: string) => void;
  /** On the three-broker cluster (started when it is not up), as production runs Kafka; default the base's brokers. */
  cluster?: boolean;
  /** `--tabletop`: stop at each step with what to look at (drills/tabletop.ts). */
  tabletop?: Tabletop;
};

/** The status a person's workflow settles on: provisioned, deprovisioned, or failed when their last change was made to fail for good. */
export const settledStatus = (entry: LedgerEntry): 'provisioned' | 'deprovisioned' | 'failed' => (entry.expect === 'rolled-back' ? 'failed' : entry.status === 'active' ? 'provisioned' : 'deprovisioned');

/** Until every person's workflow has applied their last event and settled (provisioned, deprovisioned, or failed and rolled back). */
export async function quiesce(client: ScenarioContext['pipeline']['client'], ledger: ReadonlyMap<string, LedgerEntry>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...ledger.values()];
  while (Date.now() < deadline) {
    const settled = new Set<string>();
    for (let i = 0; i < pending.length; i += 16) {
      await Promise.all(
        pending.slice(i, i + 16).map(async (entry) => {
          const s = await client.workflow.getHandle(identityWorkflowId(entry.employeeId)).query(getState).catch(() => undefined);
          if (s && s.lastAppliedSequence === entry.lastSequence && s.status === settledStatus(entry)) settled.add(entry.employeeId);
        }),
      );
    }
    pending = pending.filter((e) => !settled.has(e.employeeId));
    if (pending.length === 0) return true;
    await sleep(2_000);
  }
  return false;
}

export async function runDrill(base: Config, logger: Logger, scenario: Scenario, options: DrillOptions = {}): Promise<DrillReport> {
  const say = options.say ?? (() => undefined);
  const joiners = options.joiners ?? scenario.defaults.joiners;
  const rate = options.rate ?? scenario.defaults.rate;
  const seed = options.seed ?? 1;
  scenario.checkParameters?.({ joiners, rate });
  const startedAt = new Date().toISOString();
  const kafka = options.cluster ? await onCluster(base, say) : { base, undo: async () => undefined };
  const scenarioPrepared = scenario.prepare ? await scenario.prepare(kafka.base, say).catch(async (err: unknown) => {
    await kafka.undo();
    throw err;
  }) : { base: kafka.base, undo: async () => undefined };
  const prepared = {
    base: scenarioPrepared.base,
    async undo() {
      await scenarioPrepared.undo();
      await kafka.undo();
    },
  };
  const running: { pipeline?: { close(): Promise<void> } } = {};
  const forget = onInterrupt(async () => {
    await running.pipeline?.close().catch(() => undefined);
    await prepared.undo();
  });
  const pipeline = await startDrillPipeline(prepared.base, logger, { scenario: scenario.name, ...scenario.pipeline, ...(options.workers ? { workers: options.workers } : {}), ...(options.ingresses ? { ingresses: options.ingresses } : {}) }).catch(async (err: unknown) => {
    forget();
    await prepared.undo();
    throw err;
  });
  running.pipeline = pipeline;
  const unregisterTargets = registerDrillTargets(base, pipeline);
  const tabletop = options.tabletop ?? noTabletop;
  const look = whereToLook(pipeline.cfg, pipeline);
  try {
    const workers = pipeline.processes.filter((p) => p.role === 'worker').length;
    const ingresses = pipeline.processes.length - workers;
    say(`drill ${scenario.name}: pipeline ${pipeline.id} ready (${workers} workers, ${ingresses} ingresses, logs in ${pipeline.runDir}/logs)`);
    await tabletop(drillSteps.start(scenario, look));
    const workload = buildWorkload({ drillId: pipeline.id, joiners, leaverShare: scenario.defaults.leaverShare, seed });
    // The client's own retries short: a failed send is tried again by publishWorkload, as a feed's outbox would.
    const producer = createKafka(pipeline.cfg, { clientId: `${pipeline.id}-publisher`, retries: 3 }).producer({ idempotent: true });
    await producer.connect();
    const timeline: ScenarioContext['timeline'] = [];
    let publishing: PublishOutcome = { stalls: 0, longestStallMs: 0 };
    // Publishing starts once the scenario is armed (its stage set before the first event).
    let armed!: () => void;
    const published = new Promise<void>((resolve) => (armed = resolve))
      .then(() =>
        publishWorkload(producer, pipeline.cfg.kafka.topics.hrLifecycle, workload, rate, {
          onStall: (err) => timeline.push({ at: Date.now(), what: `publisher: a send failed (${err instanceof Error ? err.message : String(err)}); trying again every second` }),
          onRecovered: (ms) => timeline.push({ at: Date.now(), what: `publisher: the send went through after ${(ms / 1000).toFixed(1)} s` }),
        }),
      )
      .then((outcome) => {
        publishing = outcome;
        timeline.push({ at: Date.now(), what: 'workload published' });
      });
    const ctx: ScenarioContext = { pipeline, logger, random: seededRandom(seed ^ 0x9e3779b9), published, expectedMs: (workload.events.length / rate) * 1000, timeline, workload, ledger: workload.ledger, options: { ...(options.kills !== undefined ? { kills: options.kills } : {}) }, tabletop: (what) => tabletop({ title: what, look: scenario.tabletop ?? [] }) };
    await scenario.arm?.(ctx).catch(async (err: unknown) => {
      await producer.disconnect();
      throw err;
    });
    const started = Date.now();
    timeline.push({ at: started, what: `workload: ${workload.events.length} events at ${rate}/s` });
    armed();
    // Both run to their end before anything is closed: a fault still injecting (a worker restarted)
    // after the pipeline closed would leave a process behind.
    const settled = await Promise.allSettled([published, scenario.inject(ctx)]);
    await producer.disconnect();
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    const lastFault = Math.max(...timeline.map((t) => t.at));
    say(`drill ${scenario.name}: workload published and faults over; waiting for quiescence`);
    await tabletop(drillSteps.recovering(look));
    const quiescent = await quiesce(pipeline.client, workload.ledger, options.quiesceTimeoutMs ?? 10 * 60_000);
    const settledAt = Date.now();
    timeline.push({ at: settledAt, what: quiescent ? 'quiescent: every person settled on their last event' : 'not quiescent before the timeout' });
    const oracle = await runOracle({ ledger: workload.ledger, apps: pipeline.apps, directory: pipeline.directory, client: pipeline.client, store: pipeline.store });
    const evidence = await scenario.evidence(ctx, [...workload.ledger.keys()]);
    const faultHit = scenario.hit(evidence);
    const checks = scenario.checks?.(evidence);
    const metrics = await drillMetrics(base, pipeline.id, new Date(started), new Date(settledAt));
    const named = [...new Set(Object.values(oracle.examples).flat().map((who) => who.slice(who.indexOf(':') + 1)))];
    const ui = temporalUiUrl(pipeline.cfg);
    const passed = quiescent && oraclePassed(oracle) && faultHit && Object.values(checks ?? {}).every(Boolean);
    await tabletop(drillSteps.verdict(passed, { ...oracle.counts }, look));
    return {
      scenario: scenario.name,
      fault: scenario.fault,
      drillId: pipeline.id,
      startedAt,
      parameters: { joiners, events: workload.events.length, rate, seed, workers, ingresses, brokers: pipeline.cfg.kafka.brokers.length },
      timeline: timeline.sort((a, b) => a.at - b.at),
      recoveryMs: quiescent ? settledAt - lastFault : undefined,
      durationMs: settledAt - started,
      publishing,
      quiescent,
      oracle,
      evidence,
      faultHit,
      ...(checks ? { checks } : {}),
      passed,
      metrics,
      links: named.slice(0, 20).map((id) => `${ui}/namespaces/${pipeline.cfg.temporal.namespace}/workflows/${encodeURIComponent(identityWorkflowId(id))}`),
    };
  } finally {
    forget();
    unregisterTargets();
    // What prepare started is stopped even when closing the pipeline fails (e.g. on a server the fault left down).
    try {
      await pipeline.close();
    } finally {
      await prepared.undo();
    }
  }
}
