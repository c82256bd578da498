// Benchmark (not a test): a burst of terminations' permit requests against the fence, as the
// workers would ask them (the requestFencePermit activity, many in flight, one store pool like a
// worker's), with the example policy's thresholds (examples/policy). It checks the fence's promises
// and prints figures:
//   - exactly the threshold passes, the rest are held in one batch, zero failed permit requests;
//   - a retried ask gets its first answer;
//   - `fence list` (GET /fence through the real API, as the CLI asks it) latency during the burst;
//   - a per-person release (two operators, the example's releasesRequired) lets exactly that person through.
// Each run uses a throw-away store schema and drops it.
//   npm run bench -- fence-burst [--count 5000] [--in-flight 100] [--pool 10] [--json bench/results/<file>.json]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { mintToken, type JwtSettings } from '../api/auth.js';
import { startApi } from '../api/server.js';
import { createFenceActivities } from '../activities/fence.js';
import { connectTemporal } from '../clients/temporal-connection.js';
import { createLogger } from '../observability/logger.js';
import { fenceLimit } from '../policy/fencing.js';
import { loadPolicyDir } from '../policy/loader.js';
import { loadConfig, runtimeConnection } from '../schemas/config.js';
import type { FenceState, PermitAnswer } from '../schemas/fence.js';
import { createStorePool } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { createSigner, createVerifier, generateSigningSeed } from '../store/signing.js';
import { createStore } from '../store/store.js';
import { fenceWorkflowId } from '../workflows/fence-messages.js';
import { machineFacts, versions } from './lib/machine.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    'in-flight': { type: 'string', default: '100' },
    pool: { type: 'string', default: '10' },
    policy: { type: 'string', default: 'examples/policy' },
    json: { type: 'string' },
  },
});
const count = Number(values.count);
const inFlight = Number(values['in-flight']);
const poolMax = Number(values.pool);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (ms: number) => Math.round(ms * 10) / 10;

async function main(): Promise<void> {
  const loaded = loadPolicyDir(values.policy);
  if (!loaded.ok) throw new Error(`${values.policy}: ${loaded.problems.length} problems; run \`provisioner policy validate ${values.policy}\``);
  const policy = loaded.policy;
  const base = loadConfig();
  const schema = `bench_fence_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const taskQueue = `bench-fence-${randomBytes(4).toString('hex')}`;
  const cfg = { ...base, temporal: { ...base.temporal, taskQueue }, postgres: { ...base.postgres, schema } };
  const pool = createStorePool(runtimeConnection(base), { schema, max: poolMax });
  await migrate(pool, { schema });
  const signer = createSigner('bench', generateSigningSeed());
  const keys = { signer, verifier: createVerifier([{ id: signer.keyId, publicKey: signer.publicKey }]), kek: { activeId: 'bench', keys: new Map([['bench', randomBytes(32)]]) } };
  const store = createStore({ pool, schema, keys });
  const logger = createLogger({ level: 'silent' });
  const connection = await connectTemporal(cfg);
  const client = new Client({ connection, namespace: cfg.temporal.namespace });
  const jwt: JwtSettings = { secret: new TextEncoder().encode(`fence-burst-${randomBytes(16).toString('hex')}`), issuer: 'provisioner', audience: 'provisioner-api' };
  // The API is its own process in a deployment, with its own store pool: `fence list` does not queue behind the worker's asks.
  const apiPool = createStorePool(runtimeConnection(base), { schema, max: 4 });
  const apiStore = createStore({ pool: apiPool, schema, keys });
  const api = await startApi({ cfg, logger, client, store: apiStore, port: 0, jwt });
  const token = (sub: string) => mintToken(jwt, { sub, roles: ['operator'] });
  const call = async (path: string, method = 'GET', as = 'OP-A') => {
    const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${await token(as)}` } });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };

  try {
    // The terminated people are the population (the shares of the example thresholds multiply it).
    const population = count;
    const { requestFencePermit } = createFenceActivities({ policy: () => policy, store, logger, populationEstimate: population });
    const source = 'urn:hris:bench';
    const limit = Math.min(
      fenceLimit(policy.model.fencing, { scope: 'source', source }, 'disableAccount', population),
      fenceLimit(policy.model.fencing, { scope: 'application', app: 'chat' }, 'disableAccount', population),
    );
    // A termination: disable the chat account and revoke its group (the leaver's plan).
    const input = (i: number) => {
      const employeeId = `B${String(i).padStart(6, '0')}`;
      return {
        fenceWorkflowId: fenceWorkflowId(taskQueue),
        taskQueue,
        request: {
          requestId: `identity/${employeeId}/terminated-${i}`,
          workflowId: `identity/${employeeId}`,
          employeeId,
          source,
          steps: [
            { key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' as const },
            { key: 'revoke/chat/staff', app: 'chat', action: 'revoke' as const, entitlementId: 'staff' },
          ],
        },
      };
    };

    // `fence list` as the CLI asks it, over and over while the burst runs.
    const listMs: number[] = [];
    let bursting = true;
    let maxListedHeld = 0;
    const lister = (async () => {
      while (bursting) {
        const t0 = performance.now();
        const { fence } = (await call('/fence')) as { fence: FenceState | null };
        listMs.push(performance.now() - t0);
        maxListedHeld = Math.max(maxListedHeld, (fence?.held.length ?? 0) + (fence?.notListed ?? 0));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const answers: Array<PermitAnswer | undefined> = new Array(count);
    const askMs: number[] = [];
    let failed = 0;
    let next = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < count; i = next++) {
          const t0 = performance.now();
          try {
            answers[i] = await requestFencePermit(input(i));
          } catch {
            failed++;
          }
          askMs.push(performance.now() - t0);
        }
      }),
    );
    const burstMs = performance.now() - started;
    const cpuUsed = process.cpuUsage(cpu);
    bursting = false;
    await lister;

    const allowed = answers.filter((a) => a?.permit === 'allowed').length;
    const held = answers.filter((a): a is Extract<PermitAnswer, { permit: 'held' }> => a?.permit === 'held');
    const batches = [...new Set(held.map((a) => a.batchId))];

    // Retried asks get their first answers.
    const sample = Array.from({ length: 200 }, (_, k) => Math.floor((k * count) / 200));
    const retried = await Promise.all(sample.map((i) => requestFencePermit(input(i))));
    const retriesSame = sample.every((i, k) => JSON.stringify(retried[k]) === JSON.stringify(answers[i]));

    // A per-person release: two operators (the example's releasesRequired) release one held person.
    const before = (await call('/fence?limit=100000')) as { fence: FenceState };
    const person = before.fence.held[Math.floor(before.fence.held.length / 2)]!;
    const first = (await call(`/fence/batches/${person.batchId}/release?person=${person.employeeId}`, 'POST', 'OP-A')) as { decided: unknown[] };
    const second = (await call(`/fence/batches/${person.batchId}/release?person=${person.employeeId}`, 'POST', 'OP-B')) as { decided: Array<{ employeeId: string; decision: string }> };
    const after = (await call('/fence?limit=100000')) as { fence: FenceState };
    const stillHeld = new Set(after.fence.held.map((h) => h.employeeId));
    const releasedExactlyOne =
      first.decided.length === 0 &&
      second.decided.length === 1 &&
      second.decided[0]!.employeeId === person.employeeId &&
      second.decided[0]!.decision === 'released' &&
      !stillHeld.has(person.employeeId) &&
      after.fence.held.length === before.fence.held.length - 1 &&
      before.fence.held.every((h) => h.employeeId === person.employeeId || stillHeld.has(h.employeeId));

    const sortedAsk = [...askMs].sort((a, b) => a - b);
    const sortedList = [...listMs].sort((a, b) => a - b);
    const result = {
      benchmark: 'fence-burst',
      at: new Date().toISOString(),
      command: `npm run bench -- fence-burst --count ${count} --in-flight ${inFlight} --pool ${poolMax}${values.policy !== 'examples/policy' ? ` --policy ${values.policy}` : ''}`,
      machine: machineFacts(),
      versions: versions(),
      settings: { count, inFlight, storePool: poolMax, policy: values.policy, population, threshold: limit, stepsPerTermination: 2, releasesRequired: policy.model.fencing.releasesRequired },
      outcome: {
        allowed,
        held: held.length,
        failedPermitRequests: failed,
        batches,
        exactlyTheThresholdPassed: allowed === limit,
        restHeld: held.length === count - limit,
        retriedAsksGotTheirFirstAnswer: retriesSame,
        perPersonReleaseLetExactlyThatPersonThrough: releasedExactlyOne,
      },
      figures: {
        burstSeconds: round(burstMs / 1000),
        permitsPerSecond: Math.round(count / (burstMs / 1000)),
        askMs: { p50: round(pct(sortedAsk, 50)), p99: round(pct(sortedAsk, 99)), max: round(sortedAsk.at(-1) ?? 0) },
        fenceListDuringBurstMs: { samples: sortedList.length, p50: round(pct(sortedList, 50)), max: round(sortedList.at(-1) ?? 0) },
        heldListedDuringBurstMax: maxListedHeld,
        benchProcessCpuSeconds: round((cpuUsed.user + cpuUsed.system) / 1e6),
        loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `fence burst: ${count} terminations (${inFlight} in flight): ${allowed} allowed (threshold ${limit}), ${held.length} held in ${batches.join(', ')}, ${failed} failed; ` +
        `${result.figures.permitsPerSecond} permits/s (ask p50 ${result.figures.askMs.p50} ms, max ${result.figures.askMs.max} ms); ` +
        `fence list during the burst p50 ${result.figures.fenceListDuringBurstMs.p50} ms, max ${result.figures.fenceListDuringBurstMs.max} ms (${sortedList.length} calls); ` +
        `per-person release: ${releasedExactlyOne ? 'exactly that person' : 'WRONG'}`,
    );
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    const ok = failed === 0 && allowed === limit && held.length === count - limit && batches.length === 1 && retriesSame && releasedExactlyOne;
    if (!ok) process.exitCode = 1;
  } finally {
    await api.close();
    await connection.close();
    await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await store.close();
    await pool.end();
    await apiPool.end();
  }
}

await main();
