// `npm run bench -- policy-rollout`: a policy change that moves 1 % of a large population, on the
// real local stack (Temporal, PostgreSQL, the stack's slapd as the directory) and an in-process SCIM
// app (chat). The store holds --identities people (default 100,000) as production stores them (each
// snapshot sealed under the person's own key); --moved of them (default 1 %) carry a cost centre that
// the new version gives a new birthright group. Before v2 is applied the moved people hold what v1
// gives them (accounts and groups created through the worker's own connectors, as provisioned people
// do), so each change is the one new group. The real worker follows the applied version; the rollout
// workflow evaluates everyone from the store under both versions, then signals the moved people's
// workflows, which plan and apply. Prints and writes (--json) the evaluation rate and the time until
// every change was applied; exits 1 unless exactly the moved people changed, all in under 10 minutes.
//
//   node dist/bench/policy-rollout.js [--identities 100000] [--moved 1000] [--rate 200] [--batch 100] [--json <file>]
//                                     [--evaluate-only]   (the store and the evaluation activity only, no Temporal)
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { EntitlementCatalog } from '../activities/entitlement-catalog.js';
import { ensurePolicyEntitlements } from '../activities/entitlement-sync.js';
import { appliedRolloutInput, policyRolloutResult, policyRolloutView, startPolicyRollout } from '../clients/policy-rollout.js';
import { connectTemporal } from '../clients/temporal-connection.js';
import { dataConverter } from '../codec/data-converter.js';
import { parseConnectorConfig } from '../connectors/config.js';
import { createLogger } from '../observability/logger.js';
import { creationAttributes } from '../policy/attribute-sync.js';
import { evaluateIdentity } from '../policy/evaluator.js';
import type { Identity } from '../policy/identity.js';
import { loadPolicyDir, readPolicyDir } from '../policy/loader.js';
import { createProvisioningWorker } from '../runtime/worker.js';
import { bindLdap, directoryConnectOptions } from '../connectors/ldap/connect.js';
import { ldapBindPassword, loadConfig, projectRoot, type Config } from '../schemas/config.js';
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
const v1Policy = before.policy;

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
  return { ...s, employeeId: ids(s.employeeId), email: s.email!.replace('@', `.${tag}@`), ...(s.managerId ? { managerId: ids(s.managerId) } : {}), ...(marked ? { costCenter: MARK, status: 'active' as const, employmentType: 'employee' as const } : {}) };
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

// ---- the moved people hold what v1 gives them already (as provisioned people do) ----
// Created straight through the worker's own connectors (chat, and the stack's directory), so the rollout's changes are what
// the issue measures: one new group each, not a first provisioning (which would be ~5 grants a person
// and trip the fence's grant limit, as it should).
const preStart = performance.now();
const preprovisioned = await provisionUnderV1(people.filter((p) => p.costCenter === MARK));
say(`${marked.length} moved people provisioned under v1: ${preprovisioned.accounts} accounts in ${preprovisioned.apps.join(', ')} (${preprovisioned.grants} memberships) in ${round((performance.now() - preStart) / 1000)} s`);

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
// What did not succeed, and why (reasons carry no personal data), counted.
const { rows: notSucceeded } = await store.pool.query<{ status: string; reason: string | null; n: string }>(
  `select status, reason, count(*) as n from outcomes where change_id like '%/reevaluate/policy/%' and status <> 'succeeded' group by 1, 2 order by 3 desc limit 5`,
);
// Their steps that did not end applied or already in state, by application, action and outcome (no details: those may name people).
const { rows: stepsNotDone } = await store.pool.query<{ app: string; action: string; outcome: string; n: string }>(
  `select s->>'app' as app, s->>'action' as action, s->>'outcome' as outcome, count(*) as n
     from outcomes o, jsonb_array_elements(o.steps) s
    where o.change_id like '%/reevaluate/policy/%' and o.status <> 'succeeded' and s->>'outcome' not in ('applied', 'already-in-state', 'created', 'unchanged', 'updated')
    group by 1, 2, 3 order by 4 desc limit 10`,
);

const evaluateSeconds = evaluatedAt !== undefined ? (evaluatedAt - applyStart) / 1000 : undefined;
const totalSeconds = convergedAt !== undefined ? (convergedAt - applyStart) / 1000 : undefined;
const report = {
  benchmark: 'policy-rollout',
  startedAt: startedAt.toISOString(),
  command: `npm run bench -- policy-rollout ${argv.join(' ')}`.trim(),
  settings: { identities: IDENTITIES, moved: MOVED, ratePerSecond: RATE, batchSize: BATCH, apps: [...worker.connectors.keys()] },
  preprovisioned: { ...preprovisioned, note: 'the moved people hold their v1 accounts and memberships before v2 is applied' },
  seed: { seconds: round(seedMs / 1000), identitiesPerSecond: Math.round(IDENTITIES / (seedMs / 1000)) },
  rollout: {
    evaluated: view?.evaluated, changed: view?.changed, signalled: view?.signalled, converged: view?.converged, failed: view?.failed, heldByFence: view?.heldByFence, status: view?.status,
    evaluateSeconds: evaluateSeconds !== undefined ? round(evaluateSeconds) : null,
    evaluationsPerSecond: evaluateSeconds ? Math.round((view?.evaluated ?? 0) / evaluateSeconds) : null,
    applyToAllConvergedSeconds: totalSeconds !== undefined ? round(totalSeconds) : null,
    changesPerSecond: totalSeconds && evaluateSeconds ? round((view?.converged ?? 0) / (totalSeconds - evaluateSeconds)) : null,
    workflowResult: result,
    notSucceeded: notSucceeded.map((r) => ({ status: r.status, reason: r.reason, people: Number(r.n) })),
    stepsNotDone: stepsNotDone.map((r) => ({ app: r.app, action: r.action, outcome: r.outcome, steps: Number(r.n) })),
  },
  check: { marked: marked.length, itOpsMembersInApp: members, reevaluationOutcomes: reevaluated, exact: members === marked.length && reevaluated === marked.length && view?.changed === marked.length },
  target: { underTenMinutes: totalSeconds !== undefined && totalSeconds < 600 },
  machine: machineFacts(),
  versions: versions(),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);

async function provisionUnderV1(moved: WorkerSnapshot[]): Promise<{ accounts: number; grants: number; apps: string[] }> {
  const catalog = new EntitlementCatalog(worker.connectors);
  const now = new Date().toISOString();
  let accounts = 0;
  let grants = 0;
  const one = async (p: WorkerSnapshot) => {
    const identity = p as Identity;
    const desired = evaluateIdentity(v1Policy, { identity, now });
    for (const app of desired.applications) {
      const connector = worker.connectors.get(app);
      if (!connector) continue;
      const call = { idempotencyKey: `bench/${p.employeeId}/${app}`, correlationId: `bench-${tag}`, signal: AbortSignal.timeout(30_000) };
      const mapped = Object.fromEntries(Object.entries(creationAttributes(v1Policy, identity, app).attributes ?? {}).flatMap(([k, c]) => (c.to === null ? [] : [[k, c.to]])));
      const userName = mapped.userName ?? mapped.uid ?? p.email!;
      const ensured = await connector.ensureAccount({ employeeId: p.employeeId, userName, givenName: p.givenName!, familyName: p.familyName!, email: p.email!, active: true, attributes: mapped }, call);
      if (ensured.status === 'action-required' || !ensured.account) throw new Error(`bench: ${p.employeeId} not provisioned in ${app}: ${JSON.stringify(ensured)}`);
      accounts += 1;
      for (const e of desired.entitlements.filter((h) => h.app === app)) {
        await catalog.withId(app, e.id, call, (id) => connector.grant!({ account: ensured.account, entitlementId: id }, call));
        grants += 1;
      }
    }
  };
  for (let i = 0; i < moved.length; i += 20) await Promise.all(moved.slice(i, i + 20).map(one));
  return { accounts, grants, apps: [...worker.connectors.keys()] };
}

/** The directory entries a bench run created (employeeNumber `R<tag>-…`), deleted: the stack's slapd is shared with the demo and the tests. */
async function removeDirectoryEntries(runTag: string): Promise<number> {
  const ldap = await bindLdap(directoryConnectOptions(cfg, { timeoutMs: 10_000 }), cfg.ldap.bindDn, ldapBindPassword(cfg));
  try {
    const { searchEntries } = await ldap.search(cfg.ldap.baseDn, { scope: 'sub', filter: `(employeeNumber=R${runTag}-*)`, attributes: ['dn'], paged: { pageSize: 500 } });
    for (const e of searchEntries) await ldap.del(e.dn);
    return searchEntries.length;
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

// ---- clean up: the run's workflows, its schema, its directory entries ----
for await (const wf of client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
  await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('bench finished').catch(() => undefined);
}
await worker.shutdown();
await running.catch(() => undefined);
say(`removed ${await removeDirectoryEntries(tag).catch(() => 0)} directory entries of this run`);
await store.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
await store.close();
await connection.close();
await chat.close();
process.exit(report.check.exact && report.target.underTenMinutes ? 0 : 1);
