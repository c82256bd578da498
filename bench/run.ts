// `npm run bench` (bench/run.sh): the end-to-end provisioning benchmark of docs/architecture.md#performance on the
// real local stack (Kafka, Temporal, PostgreSQL) and fresh in-process SCIM apps, with its floors
// measured in the same run. See bench/results/README.md for what each figure means. One file on
// purpose: the run is one sequence (set-up, floors, joiners, leavers, report), its parts in bench/lib/.
//
//   node dist/bench/run.js [--joiners 300] [--apps 3] [--rate <joiners/s>] [--duration 15]
//                          [--seed 1] [--leavers 20] [--app-rps 1000] [--skip-search] [--json <file>]
//                          [--surge-joiners <n, default --joiners>] [--leavers-only] [--log-level silent]
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { parseConnectorConfig } from '../connectors/config.js';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../observability/logger.js';
import { ensurePolicyEntitlements } from '../activities/entitlement-sync.js';
import { startIngress } from '../runtime/ingress.js';
import { createProvisioningWorker, loadPolicyOrThrow } from '../runtime/worker.js';
import { appUrls, type ResolvedApp } from '../targets/apps-file.js';
import { loadConfig, type Config } from '../schemas/config.js';
import { ensureTopics } from '../stack/kafka.js';
import { openStore } from '../store/index.js';
import { behaviourOf } from '../targets/profiles.js';
import { startScimApp, type ScimApp } from '../targets/server.js';
import { preciseNow } from '../targets/write-log.js';
import { identityWorkflowId } from '../workflows/messages.js';
import { parseBenchArgs, rng } from './lib/args.js';
import { GROUPS_PER_APP, writeBenchPolicy } from './lib/bench-policy.js';
import { bareTemporalFloor, kafkaConsumeFloor, scimCapacityFloor } from './lib/floors.js';
import { Histogram } from './lib/histogram.js';
import { leaverBreakdown, summarizeBreakdowns, type LeaverBreakdown } from './lib/leaver-breakdown.js';
import { ProcessMeter, machineFacts, sampleStack, stackDelta, stackPids, versions } from './lib/machine.js';
import { publishOpenLoop, schedule } from './lib/publisher.js';
import { WriteTracker, waitAll } from './lib/tracker.js';
import { scrapedByPrometheus } from './lib/prometheus-scrape.js';
import { formatKeySeries } from '../stack/prometheus-key-series.js';

const args = parseBenchArgs(process.argv.slice(2));
const logger = createLogger({ level: args.logLevel, name: 'bench' });
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

const meter = new ProcessMeter();
const machine = machineFacts();
const pids = stackPids();
const stackAtStart = sampleStack(pids);
const cpuAtStart = meter.cpu();
const startedAt = new Date();

const tag = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const unique = (prefix: string) => `${prefix}-bench-${tag}`;
const policyFiles = writeBenchPolicy(args.apps);
const loaded = loadConfig();
const hrLifecycle = unique('hr.lifecycle');
const outcomes = unique('provisioning.outcomes');
const storeSchema = unique('store').replaceAll(/[-.]/g, '_');
const cfg: Config = {
  ...loaded,
  // Its own store schema and checkpoint file, beside a running demo.
  postgres: { ...loaded.postgres, schema: storeSchema },
  audit: { ...loaded.audit, checkpointsFile: path.join(mkdtempSync(path.join(tmpdir(), 'bench-audit-')), 'checkpoints.jsonl') },
  policy: { ...loaded.policy, dir: policyFiles.dir },
  kafka: { ...loaded.kafka, topics: { ...loaded.kafka.topics, hrLifecycle, outcomes } },
  // Both of each app's queues (its own and its urgent one for leavers) get --app-rps.
  scimConnector: { ...loaded.scimConnector, maxActivitiesPerSecond: args.appRps, urgentMaxActivitiesPerSecond: args.appRps },
};
await ensureTopics(cfg, [hrLifecycle, `${hrLifecycle}.dlq`, outcomes]);

// Fresh SCIM apps in this process, on free ports, in memory.
const apps: Array<{ app: ScimApp; resolved: ResolvedApp & { adminToken: string } }> = await Promise.all(
  policyFiles.apps.map(async (name) => {
    const token = `bench-${randomBytes(12).toString('hex')}`;
    const app = await startScimApp({ name, port: 0, host: '127.0.0.1', bearerTokens: [token], adminToken: token, logger });
    const { url, scimUrl } = appUrls('127.0.0.1', app.port);
    return { app, resolved: { name, host: '127.0.0.1', port: app.port, url, scimUrl, bearerTokens: [token], adminToken: token, behaviour: behaviourOf() } };
  }),
);
const resolvedApps = apps.map((a) => a.resolved);
// How the worker reaches them: each token in a private file its connector config names.
const tokenDir = mkdtempSync(path.join(tmpdir(), 'bench-tokens-'));
const connectorConfigs = resolvedApps.map((a) => {
  const token = { file: path.join(tokenDir, `${a.name}.scim-token`) };
  writeFileSync(token.file, a.bearerTokens[0]!, { mode: 0o600 });
  return parseConnectorConfig({ type: 'scim', app: a.name, baseUrl: a.scimUrl, auth: { kind: 'bearer', token }, timeoutMs: 5000 });
});
const policy = loadPolicyOrThrow(policyFiles.dir);
const store = await openStore(cfg, { migrate: true, createKeys: true, logger });
const taskQueue = unique('provisioning');
const worker = await createProvisioningWorker(cfg, logger, { taskQueue, connectorConfigs, policy, store });
await ensurePolicyEntitlements(policy, worker.connectors);
const ingress = await startIngress(cfg, logger, { taskQueue, groupId: unique('ingress'), itsm: false });
const kafka = createKafka(cfg, { clientId: 'bench' });
const producer = kafka.producer();
await producer.connect();
const tracker = new WriteTracker(resolvedApps, GROUPS_PER_APP);
tracker.start();
// With the local Prometheus up, the run's key series are read back from it at the end.
const scraped = await scrapedByPrometheus(cfg, say);

// ---- people ---------------------------------------------------------------------------------
const random = rng(args.seed);
const departments = ['Engineering', 'Sales', 'Support', 'Product', 'Marketing', 'Finance'];
const given = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie'];
let nextPerson = 0;
type Person = { id: string; data: Record<string, unknown> };
function newPeople(n: number): Person[] {
  return Array.from({ length: n }, () => {
    const id = `B${tag}-${nextPerson++}`;
    const first = given[Math.floor(random() * given.length)]!;
    return {
      id,
      data: {
        employeeId: id,
        givenName: first,
        familyName: `Bench${id.slice(-6)}`,
        email: `${id.toLowerCase()}@example.com`,
        department: departments[Math.floor(random() * departments.length)],
        title: 'Specialist',
        region: random() < 0.5 ? 'eu' : 'us',
        employmentType: 'employee',
        level: 1 + Math.floor(random() * 6),
      },
    };
  });
}
function event(person: Person, type: 'hr.worker.hired' | 'hr.worker.terminated', sequence: number) {
  const now = new Date().toISOString();
  const { level, ...rest } = person.data;
  return {
    key: person.id,
    value: JSON.stringify({
      specversion: '1.0',
      id: `${person.id}-${sequence}`,
      source: 'urn:hris:bench',
      type,
      time: now,
      subject: person.id,
      datacontenttype: 'application/json',
      data: { ...rest, extensions: { level }, sequence, effectiveAt: now, status: type === 'hr.worker.terminated' ? 'terminated' : 'active' },
    }),
  };
}

/** Publishes joiners open loop at `rate` (Infinity: all at once) and waits for each to be provisioned. */
async function joinerPhase(people: Person[], rate: number, timeoutMs: number) {
  const start = preciseNow() + 200;
  const events = schedule(people, start, rate, (p) => event(p, 'hr.worker.hired', 1));
  const scheduledAt = new Map(events.map((e) => [e.key, e.at]));
  const publishing = publishOpenLoop(producer, hrLifecycle, events);
  const { at, missing } = await waitAll(people.map((p) => p.id), (id) => tracker.provisionedAt(id), timeoutMs);
  const { maxSendLagMs } = await publishing;
  const latencies = people.filter((p) => at.has(p.id)).map((p) => ({ id: p.id, scheduled: scheduledAt.get(p.id)!, ms: at.get(p.id)! - scheduledAt.get(p.id)! }));
  const hist = new Histogram();
  for (const l of latencies) hist.record(l.ms);
  const lastDone = Math.max(...at.values());
  return { start, latencies, hist, missing, maxSendLagMs, seconds: (lastDone - start) / 1000, throughput: at.size / ((lastDone - start) / 1000) };
}

async function leaverPhase(people: Person[], rate: number, startIn: number, timeoutMs: number) {
  const start = preciseNow() + startIn;
  const events = schedule(people, start, rate, (p) => event(p, 'hr.worker.terminated', 2));
  const scheduledAt = new Map(events.map((e) => [e.key, e.at]));
  const publishing = publishOpenLoop(producer, hrLifecycle, events);
  const { at, missing } = await waitAll(people.map((p) => p.id), (id) => tracker.disabledAt(id, scheduledAt.get(id)!), timeoutMs);
  await publishing;
  const hist = new Histogram();
  for (const [id, t] of at) hist.record(t - scheduledAt.get(id)!);
  return { hist, missing, at, scheduledAt };
}

/** Where each leaver's time went (bench/lib/leaver-breakdown.ts), from its workflow history. */
async function breakdownOf(phase: { at: Map<string, number>; scheduledAt: Map<string, number> }) {
  const clockOffsetMs = Date.now() - preciseNow();
  const all: LeaverBreakdown[] = [];
  for (const [id, writeAt] of phase.at) {
    const history = await ingress.client.workflow.getHandle(identityWorkflowId(id)).fetchHistory();
    const b = leaverBreakdown(history.events ?? [], phase.scheduledAt.get(id)!, writeAt, clockOffsetMs);
    if (b) all.push(b);
  }
  return summarizeBreakdowns(all);
}

/** How many of the surge's joiners were still not fully provisioned when each leaver was scheduled (the fewest). */
function inFlightAtLeavers(surge: { people: Person[]; provisionedAt: Map<string, number> }, leavers: { scheduledAt: Map<string, number> }): number {
  const counts = [...leavers.scheduledAt.values()].map((t) => surge.people.filter((p) => (surge.provisionedAt.get(p.id) ?? Infinity) > t).length);
  return counts.length === 0 ? 0 : Math.min(...counts);
}

/** Idle leavers, then leavers during a surge of `surgeJoiners` joiners published at once. */
async function leaverPhases(idleLeavers: Person[], surgeLeavers: Person[]) {
  const leaverIdle = await measured('leavers idle', () => leaverPhase(idleLeavers, 2, 200, 120_000));
  const surgePeople = newPeople(args.surgeJoiners);
  const [surge, leaverSurge] = await measured('leavers during a joiner surge', () =>
    Promise.all([joinerPhase(surgePeople, Infinity, 900_000), leaverPhase(surgeLeavers, 2, 1_200, 900_000)]),
  );
  const surgeProvisionedAt = new Map(surge.latencies.map((l) => [l.id, l.scheduled + l.ms]));
  return {
    leaverIdle,
    leaverSurge,
    surge,
    results: {
      leaverIdleMs: { ...leaverIdle.hist.summary(), missing: leaverIdle.missing.length },
      leaverDuringSurgeMs: {
        ...leaverSurge.hist.summary(),
        missing: leaverSurge.missing.length,
        surgeJoiners: args.surgeJoiners,
        surgeJoinersInFlightAtLeaverStart: inFlightAtLeavers({ people: surgePeople, provisionedAt: surgeProvisionedAt }, leaverSurge),
        surgeSeconds: round(surge.seconds),
      },
      leaverBreakdownMs: { idle: await breakdownOf(leaverIdle), duringSurge: await breakdownOf(leaverSurge) },
    },
    targets: {
      leaverIdleP99Under2s: leaverIdle.missing.length === 0 && leaverIdle.hist.percentile(99) < 2000,
      leaverSurgeP99Under30s: leaverSurge.missing.length === 0 && leaverSurge.hist.percentile(99) < 30_000,
    },
  };
}

type Phase = { cpuSeconds: number; wallSeconds: number; stack: ReturnType<typeof stackDelta> };
const phases: Record<string, Phase> = {};
async function measured<T>(name: string, fn: () => Promise<T>): Promise<T> {
  say(`${name}…`);
  const cpu = meter.cpu();
  const stack = sampleStack(pids);
  const t0 = performance.now();
  const out = await fn();
  phases[name] = { cpuSeconds: meter.cpuSince(cpu), wallSeconds: round((performance.now() - t0) / 1000), stack: stackDelta(stack, sampleStack(pids)) };
  return out;
}

const results: Record<string, unknown> = {};
let exitCode = 0;
try {
  // Warm-up: the workflow bundle, connections and JIT (not counted).
  await measured('warm-up', () => joinerPhase(newPeople(10), Infinity, 120_000));
  scraped?.markStart();
  if (args.leaversOnly) await leaversOnlyRun();
  else await fullRun();
} catch (err) {
  exitCode = 1;
  say(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  const keySeries = await scraped?.report();
  if (keySeries) results.prometheus = keySeries;
  await scraped?.close();
  await tracker.stop();
  await producer.disconnect().catch(() => undefined);
  for await (const wf of ingress.client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
    await ingress.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('bench finished').catch(() => undefined);
  }
  await ingress.shutdown().catch(() => undefined);
  await worker.shutdown().catch(() => undefined);
  await Promise.all(apps.map((a) => a.app.close()));
  await store.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
  await store.close().catch(() => undefined);
}

const report = {
  benchmark: 'provisioner end-to-end (docs/architecture.md#performance)',
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l)) },
  versions: versions(),
  settings: {
    ...args,
    groupsPerApp: GROUPS_PER_APP,
    policy: 'examples/policy attributes/approvals/lifecycle; N synthetic SCIM apps × 3 groups, one birthright role for every employee; fencing thresholds raised; no LDAP',
    scimAppsInProcess: true,
    profiled: process.execArgv.some((a) => a.startsWith('--cpu-prof')),
    worker: { maxCachedWorkflows: 1000, appMaxConcurrentActivities: 20, appMaxActivitiesPerSecond: args.appRps, urgentMaxConcurrentActivities: 10, urgentMaxActivitiesPerSecond: args.appRps, inProcessWithIngressAndApps: true },
    kafkaPartitions: 'as created by stack/kafka.ts ensureTopics',
  },
  results,
  process: { cpuSeconds: meter.cpuSince(cpuAtStart), peakRssMiB: meter.peakRssMiB(), phases },
  stackServers: { note: 'shared servers: CPU includes every other user of the stack during the run', ...stackDelta(stackAtStart, sampleStack(pids)) },
};
meter.stop();
printTable(report);
if (args.json) {
  mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  say(`wrote ${args.json}`);
}
process.exit(exitCode);

/** The whole benchmark: throughput, floors, the maximum sustainable rate, steady latency, leavers. */
async function fullRun(): Promise<void> {
  // Throughput: all joiners at once; events/s to fully provisioned.
  const burstPeople = newPeople(args.joiners);
  const burst = await measured('burst', () => joinerPhase(burstPeople, Infinity, 600_000));
  say(`burst: ${round(burst.throughput)} joiners/s`);

  // History events per joiner (the workflow stays open: its history is the joiner's whole work).
  const sample = burstPeople.slice(0, 10);
  const histories = await Promise.all(sample.map((p) => ingress.client.workflow.getHandle(identityWorkflowId(p.id)).fetchHistory()));
  const historyLengths = histories.map((h) => h.events?.length ?? 0);
  const activitiesScheduled = histories.map((h) => (h.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length);
  const activitiesPerJoiner = Math.max(...activitiesScheduled);

  // Floors, on the same stack, in the same run.
  const appActivities = args.apps * (1 + GROUPS_PER_APP);
  const floorInput = { apps: policyFiles.apps, grantsPerApp: GROUPS_PER_APP, before: 1, after: Math.max(0, activitiesPerJoiner - 1 - appActivities) };
  const bare = await measured('floor: bare temporal', () => bareTemporalFloor(cfg, { taskQueue: unique('bench-floor'), count: args.joiners, input: floorInput, appRps: args.appRps }));
  const kafkaFloor = await measured('floor: kafkajs consume', () => kafkaConsumeFloor(cfg, { topic: unique('bench-floor-kafka'), count: 20_000, sample: event(burstPeople[0]!, 'hr.worker.hired', 1).value }));
  const scimFloor = await measured('floor: scim capacity', () => scimCapacityFloor({ seconds: 5 }));

  // The maximum sustainable rate: open-loop steps of --duration s; a step is sustainable when the
  // lag does not grow within it (median latency of its last third ≤ 1.5 × its first third + 0.5 s)
  // and everything is provisioned within 10 s of the step's end.
  const steps: Array<{ rate: number; p50FirstMs: number; p50LastMs: number; drainSeconds: number; sustainable: boolean }> = [];
  let maxSustainable: number | undefined;
  if (!args.skipSearch) {
    const base = burst.throughput;
    for (const factor of [0.5, 0.75, 1, 1.25]) {
      const rate = Math.max(0.5, Math.round(base * factor * 2) / 2);
      if (steps.some((s) => s.rate === rate)) continue; // a slow machine rounds two factors to one rate
      const people = newPeople(Math.ceil(rate * args.duration));
      const step = await measured(`search ${rate}/s`, () => joinerPhase(people, rate, args.duration * 1000 + 120_000));
      const third = Math.floor(step.latencies.length / 3);
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
      const byTime = [...step.latencies].sort((a, b) => a.scheduled - b.scheduled);
      const first = median(byTime.slice(0, third).map((l) => l.ms));
      const last = median(byTime.slice(-third).map((l) => l.ms));
      const drain = step.seconds - args.duration;
      const sustainable = step.missing.length === 0 && last <= 1.5 * first + 500 && drain <= 10;
      steps.push({ rate, p50FirstMs: round(first, 0), p50LastMs: round(last, 0), drainSeconds: round(drain, 1), sustainable });
      say(`  ${rate}/s: p50 first third ${round(first, 0)} ms, last third ${round(last, 0)} ms, drained ${round(drain, 1)} s after the step → ${sustainable ? 'sustainable' : 'lag grows'}`);
      if (!sustainable) break;
      maxSustainable = rate;
    }
  }

  // Latency at a steady rate (default: half the maximum sustainable rate).
  // At least 30 joiners, so that p99 is not just the maximum of a handful.
  const rate = args.rate ?? round((maxSustainable ?? burst.throughput / 2) / 2);
  const steadyPeople = newPeople(Math.max(30, Math.ceil(rate * args.duration)));
  const steady = await measured(`steady ${rate}/s`, () => joinerPhase(steadyPeople, rate, args.duration * 1000 + 120_000));

  // Leavers: idle, then during a joiner surge (the surge is --surge-joiners joiners at once).
  const { surge, results: leaverResults, targets: leaverTargets } = await leaverPhases(burstPeople.slice(0, args.leavers), burstPeople.slice(args.leavers, 2 * args.leavers));

  const ratio = (ours: number, floor: number) => round(ours / floor, 3);
  Object.assign(results, {
    throughput: {
      joinersPerSecond: round(burst.throughput),
      joiners: args.joiners,
      seconds: round(burst.seconds),
      bareTemporalWorkflowsPerSecond: bare.workflowsPerSecond,
      ratioToBareTemporal: ratio(burst.throughput, bare.workflowsPerSecond),
      surgeJoinersPerSecond: round(surge.throughput),
      missing: burst.missing.length,
    },
    burstLatencyMs: burst.hist.summary(),
    maxSustainableRate: { joinersPerSecond: maxSustainable ?? null, atLeast: steps.length > 0 && steps.every((s) => s.sustainable), steps, stepSeconds: args.duration },
    steadyLatency: { rate, ...steady.hist.summary(), missing: steady.missing.length, maxSendLagMs: steady.maxSendLagMs },
    ...leaverResults,
    historyEventsPerJoiner: { sampled: sample.length, min: Math.min(...historyLengths), max: Math.max(...historyLengths), activitiesScheduled: activitiesPerJoiner, bareFloorHistoryEvents: bare.historyEventsPerWorkflow },
    floors: {
      bareTemporal: { ...bare, activitiesPerWorkflow: floorInput.before + appActivities + floorInput.after, input: floorInput },
      kafkajsConsume: kafkaFloor,
      scimAppCapacity: { ...scimFloor, note: 'one in-process app, POST /Users, 16 in flight' },
      ratios: {
        throughputToBareTemporal: ratio(burst.throughput, bare.workflowsPerSecond),
        throughputToKafkaConsume: round(burst.throughput / kafkaFloor.messagesPerSecond, 6),
        appWritesPerSecondToScimCapacity: ratio(burst.throughput * (1 + GROUPS_PER_APP), scimFloor.writesPerSecond),
      },
    },
    targets: {
      throughputAtLeast0_8xBare: ratio(burst.throughput, bare.workflowsPerSecond) >= 0.8,
      p99Under5sAtHalfMaxSustainable: maxSustainable !== undefined && args.rate === undefined ? steady.hist.percentile(99) < 5000 : null,
      ...leaverTargets,
    },
  });
}

/** --leavers-only: provision the people to terminate, then only the leaver phases. */
async function leaversOnlyRun(): Promise<void> {
  const people = newPeople(2 * args.leavers);
  const provisioned = await measured('provision the leavers', () => joinerPhase(people, Infinity, 600_000));
  if (provisioned.missing.length > 0) throw new Error(`${provisioned.missing.length} of the leavers-to-be were not provisioned`);
  const leavers = await leaverPhases(people.slice(0, args.leavers), people.slice(args.leavers));
  Object.assign(results, { ...leavers.results, throughput: { surgeJoinersPerSecond: round(leavers.surge.throughput) }, targets: leavers.targets });
}

function printTable(r: typeof report): void {
  const res = r.results as any;
  if (!res.leaverDuringSurgeMs) return;
  const ms = (x: any) => `p50 ${x.p50} p99 ${x.p99} max ${x.max}`;
  const full: Array<[string, string, string]> = res.floors
    ? [
        ['throughput (joiners/s to fully provisioned)', `${res.throughput.joinersPerSecond}`, `${res.throughput.ratioToBareTemporal}× bare Temporal (${res.floors.bareTemporal.workflowsPerSecond} wf/s); target ≥ 0.8`],
        ['  vs raw kafkajs consume', `${res.floors.kafkajsConsume.messagesPerSecond} msg/s`, `${res.floors.ratios.throughputToKafkaConsume}×`],
        ['  vs SCIM app capacity (writes/s per app)', `${res.floors.scimAppCapacity.writesPerSecond} writes/s`, `${res.floors.ratios.appWritesPerSecondToScimCapacity}× of one app's capacity used`],
        ['max sustainable rate (joiners/s)', `${res.maxSustainableRate.joinersPerSecond ?? 'n/a'}`, res.maxSustainableRate.steps.map((s: any) => `${s.rate}${s.sustainable ? '✓' : '✗'}`).join(' ')],
        [`time-to-provision at ${res.steadyLatency.rate}/s (ms)`, `p50 ${res.steadyLatency.p50} p95 ${res.steadyLatency.p95} p99 ${res.steadyLatency.p99} max ${res.steadyLatency.max}`, 'target p99 < 5000 at half max sustainable'],
        ['time-to-provision in the burst (ms)', `p50 ${res.burstLatencyMs.p50} p95 ${res.burstLatencyMs.p95} p99 ${res.burstLatencyMs.p99} max ${res.burstLatencyMs.max}`, `${r.settings.joiners} at once`],
      ]
    : [];
  const surge = res.leaverDuringSurgeMs;
  const parts = (b: any) => ['ingress', 'wftQueue', 'wftRun', 'baseQueue', 'baseRun', 'disableQueue', 'disableToWrite', 'other'].map((k) => `${k} ${b[k].p50}/${b[k].p99}`).join(', ');
  const rows: Array<[string, string, string]> = [
    ...full,
    ['leaver disable idle (ms)', ms(res.leaverIdleMs), 'target p99 < 2000'],
    ['leaver disable during surge (ms)', ms(surge), `target p99 < 30000; ${surge.surgeJoiners} joiners at once, ≥ ${surge.surgeJoinersInFlightAtLeaverStart} still in flight at each leaver's start`],
    ['  where the surge leavers\' time went (p50/p99 ms)', parts(res.leaverBreakdownMs.duringSurge), `disable queues: ${res.leaverBreakdownMs.duringSurge.disableTaskQueues.join(', ')}`],
    ...(res.historyEventsPerJoiner ? [['history events per joiner', `${res.historyEventsPerJoiner.min}-${res.historyEventsPerJoiner.max}`, `bare floor ${res.historyEventsPerJoiner.bareFloorHistoryEvents}; ${res.historyEventsPerJoiner.activitiesScheduled} activities`] as [string, string, string]] : []),
    ['bench process CPU / peak RSS', `${r.process.cpuSeconds} s / ${r.process.peakRssMiB} MiB`, 'worker + ingress + apps + producer in one process'],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  process.stdout.write(`\nprovisioner bench — ${r.machine.cpus} cpus, ${r.machine.node}, load ${r.machine.loadAverageAtStart.join(' ')} → ${r.machine.loadAverageAtEnd.join(' ')}\n`);
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`);
  process.stdout.write(`targets: ${JSON.stringify(res.targets)}\n`);
  if (res.prometheus) process.stdout.write(`${formatKeySeries(res.prometheus).join('\n')}\n`);
}
