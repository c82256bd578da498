// `npm run bench -- policy-rollout`: a policy change that moves 1 % of a large population, on the
// real local stack (Temporal, PostgreSQL) and an in-process SCIM app. The store holds --identities
// people (default 100,000) as production stores them (each snapshot sealed under the person's own
// key); --moved of them (default 1 %) carry a cost centre that the new version gives a new birthright
// group. The real worker follows the applied version; the rollout workflow evaluates everyone from
// the store under both versions, then signals the moved people's workflows, which plan and apply.
// Prints and writes (--json) the evaluation rate and the time until every change was applied.
//
//   node dist/bench/policy-rollout.js [--identities 100000] [--moved 1000] [--rate 200] [--batch 100] [--json <file>]
//                                     [--evaluate-only]   (the store and the evaluation activity only, no Temporal)
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { ensurePolicyEntitlements } from '../activities/entitlement-sync.js';
import { appliedRolloutInput, policyRolloutResult, policyRolloutView, startPolicyRollout } from '../clients/policy-rollout.js';
import { connectTemporal } from '../clients/temporal-connection.js';
import { dataConverter } from '../codec/data-converter.js';
import { parseConnectorConfig } from '../connectors/config.js';
import { createLogger } from '../observability/logger.js';
import { loadPolicyDir, readPolicyDir } from '../policy/loader.js';
import { createProvisioningWorker } from '../runtime/worker.js';
import { loadConfig, projectRoot, type Config } from '../schemas/config.js';
import type { WorkerSnapshot } from '../schemas/events.js';
import { insertSnapshots } from '../store/identities.js';
import { openStore } from '../store/index.js';
import { recordPolicyApplied } from '../store/policy-applied.js';
import { appUrls } from '../targets/apps-file.js';
import { startScimApp } from '../targets/server.js';
import { machineFacts, versions } from './lib/machine.js';
import { generateIdentities } from './policy-identities.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const IDENTITIES = flag('identities', 100_000);
const MOVED = flag('moved', Math.round(IDENTITIES / 100));
const RATE = flag('rate', 200);
const BATCH = flag('batch', 100);
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent', name: 'bench' });
const startedAt = new Date();

const tag = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const MARK = 'CC-ROLLOUT';

// ---- the policy: the example's, with only the chat app; the new version adds one birthright rule ----
function policyDir(extra: boolean): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-rollout-policy-'));
  cpSync(path.join(projectRoot, 'examples', 'policy'), dir, { recursive: true });
  if (extra) writeFileSync(path.join(dir, 'rollout.yaml'), `roles:\n  - id: rollout-ops\n    entitlements: [chat:it-ops]\nbirthright:\n  - id: rollout-ops\n    when: costCenter == "${MARK}"\n    roles: [rollout-ops]\n`);
  return dir;
}
const v1 = policyDir(false);
const v2 = policyDir(true);
const before = loadPolicyDir(v1);
const after = loadPolicyDir(v2);
if (!before.ok || !after.ok) throw new Error('the bench policies do not validate');

const loaded = loadConfig();
const storeSchema = `bench_rollout_${tag}`;
const taskQueue = `provisioning-bench-rollout-${tag}`;
const cfg: Config = {
  ...loaded,
  postgres: { ...loaded.postgres, schema: storeSchema },
  audit: { ...loaded.audit, checkpointsFile: path.join(mkdtempSync(path.join(tmpdir(), 'bench-audit-')), 'checkpoints.jsonl') },
  policy: { ...loaded.policy, dir: v1, rolloutPerSecond: RATE, rolloutBatchSize: BATCH },
  temporal: { ...loaded.temporal, taskQueue },
  scimConnector: { ...loaded.scimConnector, maxActivitiesPerSecond: 1000, urgentMaxActivitiesPerSecond: 1000 },
};

// ---- the SCIM app and the store ----
const token = `bench-${randomBytes(12).toString('hex')}`;
const chat = await startScimApp({ name: 'chat', port: 0, host: '127.0.0.1', bearerTokens: [token], adminToken: token, logger });
const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-tokens-')), 'chat.scim-token');
writeFileSync(tokenFile, token, { mode: 0o600 });
const connectorConfigs = [parseConnectorConfig({ type: 'scim', app: 'chat', baseUrl: appUrls('127.0.0.1', chat.port).scimUrl, auth: { kind: 'bearer', token: { file: tokenFile } }, timeoutMs: 10_000 })];
const store = await openStore(cfg, { migrate: true, createKeys: true, logger });

// People: the generator's population, ids unique to this run; every (IDENTITIES / MOVED)-th one, active, carries the mark.
const every = Math.floor(IDENTITIES / MOVED);
const ids = (id: string) => `${id.replace(/^E/, `R${tag}-`)}`;
const people: WorkerSnapshot[] = generateIdentities(IDENTITIES, 7).map((s, i) => {
  const marked = i % every === every - 1 && i / every < MOVED;
  return { ...s, employeeId: ids(s.employeeId), ...(s.managerId ? { managerId: ids(s.managerId) } : {}), ...(marked ? { costCenter: MARK, status: 'active' as const, employmentType: 'employee' as const } : {}) };
});
const marked = people.filter((p) => p.costCenter === MARK).map((p) => p.employeeId);
say(`seeding ${IDENTITIES} identities (${marked.length} marked) into schema ${storeSchema}`);
const seedStart = performance.now();
const CHUNK = 2000;
for (let i = 0; i < people.length; i += CHUNK) {
  const chunk = people.slice(i, i + CHUNK);
  await store.change((tx) => insertSnapshots(tx, chunk), { actor: { type: 'system', id: 'bench' }, action: 'identity.snapshots-imported', reason: `bench: ${chunk.length} snapshots imported` });
}
const seedMs = performance.now() - seedStart;
say(`seeded in ${round(seedMs / 1000)} s (${Math.round(IDENTITIES / (seedMs / 1000))} identities/s)`);

if (argv.includes('--evaluate-only')) {
  // The rollout's evaluation activity itself, in a mock activity context: no worker, no Temporal.
  const { MockActivityEnvironment } = await import('@temporalio/testing');
  const { createPolicyRolloutActivities } = await import('../activities/policy-rollout.js');
  const { seedAppliedPolicy } = await import('../runtime/policy-source.js');
  await seedAppliedPolicy(store, v1, logger);
  const applied = await recordPolicyApplied(store, { version: after.version, files: readPolicyDir(v2), appliedBy: { employeeId: `ADMIN-${tag}` }, reason: 'bench: a new birthright group for one cost centre' });
  const activities = createPolicyRolloutActivities({ store, client: undefined as unknown as Client, logger });
  const started = performance.now();
  const r = (await new MockActivityEnvironment().run(activities.evaluatePolicyRollout, { seq: applied.seq })) as { evaluated: number; changed: number };
  const seconds = (performance.now() - started) / 1000;
  const report = {
    benchmark: 'policy-rollout --evaluate-only', startedAt: startedAt.toISOString(), command: `npm run bench -- policy-rollout ${argv.join(' ')}`.trim(),
    settings: { identities: IDENTITIES, moved: MOVED },
    seed: { seconds: round(seedMs / 1000), identitiesPerSecond: Math.round(IDENTITIES / (seedMs / 1000)) },
    evaluation: { evaluated: r.evaluated, changed: r.changed, seconds: round(seconds), evaluationsPerSecond: Math.round(r.evaluated / seconds) },
    check: { marked: marked.length, exact: r.changed === marked.length && r.evaluated === IDENTITIES },
    machine: machineFacts(), versions: versions(),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
  await store.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
  await store.close();
  await chat.close();
  process.exit(report.check.exact ? 0 : 1);
}

// ---- the worker (follows the store: v1 recorded as applied at its start) ----
const worker = await createProvisioningWorker(cfg, logger, { taskQueue, connectorConfigs, store });
await ensurePolicyEntitlements(worker.policy, worker.connectors);
const running = worker.run();
const connection = await connectTemporal(cfg);
const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir, cfg.mode) });

// ---- apply v2 and follow its rollout ----
const applyStart = performance.now();
const applied = await recordPolicyApplied(store, { version: after.version, files: readPolicyDir(v2), appliedBy: { employeeId: `ADMIN-${tag}` }, reason: 'bench: a new birthright group for one cost centre' });
// The worker's poll may start it first, with the same input (cfg.policy has RATE and BATCH): then this start is a no-op.
await startPolicyRollout(client, taskQueue, appliedRolloutInput(applied, cfg.policy));
let evaluatedAt: number | undefined;
let signalledAt: number | undefined;
let convergedAt: number | undefined;
let view = await policyRolloutView(store, taskQueue, after.version);
const deadline = applyStart + 20 * 60_000;
while (performance.now() < deadline) {
  view = await policyRolloutView(store, taskQueue, after.version);
  const now = performance.now();
  if (view && evaluatedAt === undefined && (view.status === 'signalling' || view.status === 'completed')) evaluatedAt = now;
  if (view && signalledAt === undefined && view.status === 'completed') signalledAt = now;
  if (view && (view.converged + view.failed >= view.changed) && view.status === 'completed') {
    convergedAt = now;
    break;
  }
  say(`rollout: ${view?.status} evaluated ${view?.evaluated} changed ${view?.changed} signalled ${view?.signalled} converged ${view?.converged} failed ${view?.failed}`);
  await new Promise((r) => setTimeout(r, 2000));
}
const result = await policyRolloutResult(client, applied.rolloutId);

// ---- check: exactly the marked people hold it-ops in the app, and only they got a change ----
const res = await fetch(`${appUrls('127.0.0.1', chat.port).scimUrl}/Groups?filter=${encodeURIComponent('displayName eq "it-ops"')}`, { headers: { authorization: `Bearer ${token}` } });
const group = ((await res.json()) as { Resources: Array<{ members?: Array<{ value: string }> }> }).Resources[0];
const members = group?.members?.length ?? 0;
const { rows: outcomeRows } = await store.pool.query<{ n: string }>(`select count(*) as n from outcomes where change_id like '%/reevaluate/policy/%'`);
const reevaluated = Number(outcomeRows[0]!.n);

const evaluateSeconds = evaluatedAt !== undefined ? (evaluatedAt - applyStart) / 1000 : undefined;
const totalSeconds = convergedAt !== undefined ? (convergedAt - applyStart) / 1000 : undefined;
const report = {
  benchmark: 'policy-rollout',
  startedAt: startedAt.toISOString(),
  command: `npm run bench -- policy-rollout ${argv.join(' ')}`.trim(),
  settings: { identities: IDENTITIES, moved: MOVED, ratePerSecond: RATE, batchSize: BATCH, apps: ['chat'] },
  seed: { seconds: round(seedMs / 1000), identitiesPerSecond: Math.round(IDENTITIES / (seedMs / 1000)) },
  rollout: {
    evaluated: view?.evaluated, changed: view?.changed, signalled: view?.signalled, converged: view?.converged, failed: view?.failed, heldByFence: view?.heldByFence, status: view?.status,
    evaluateSeconds: evaluateSeconds !== undefined ? round(evaluateSeconds) : null,
    evaluationsPerSecond: evaluateSeconds ? Math.round((view?.evaluated ?? 0) / evaluateSeconds) : null,
    applyToAllConvergedSeconds: totalSeconds !== undefined ? round(totalSeconds) : null,
    changesPerSecond: totalSeconds && evaluateSeconds ? round((view?.converged ?? 0) / (totalSeconds - evaluateSeconds)) : null,
    workflowResult: result,
  },
  check: { marked: marked.length, itOpsMembersInApp: members, reevaluationOutcomes: reevaluated, exact: members === marked.length && reevaluated === marked.length && view?.changed === marked.length },
  target: { underTenMinutes: totalSeconds !== undefined && totalSeconds < 600 },
  machine: machineFacts(),
  versions: versions(),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);

// ---- clean up: the run's workflows, its schema ----
for await (const wf of client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
  await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('bench finished').catch(() => undefined);
}
await worker.shutdown();
await running.catch(() => undefined);
await store.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
await store.close();
await connection.close();
await chat.close();
process.exit(report.check.exact && report.target.underTenMinutes ? 0 : 1);
