// Per-application rate limits hold across worker processes: 200 activities want one SCIM app at
// once; two separate OS processes each run an activity worker on the app's task queue with the
// same server-enforced maxTaskQueueActivitiesPerSecond, serving the connector activities the
// worker serves (the audited ensureAccount, in this test's own store schema); the app's own write
// log shows the rate.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { openStore, type Store } from '../../store/index.js';
import { appTaskQueue } from '../../workflows/task-queues.js';
import { startTestScimApp } from '../helpers/scim-app.js';
import { uniqueName } from '../helpers/unique.js';
import { existingServerOptions } from '../../clients/temporal-connection.js';

const cfg = loadConfig();
const RATE = 10; // activities per second for the app, across all workers
const COUNT = 200;
/** What a token bucket may let through at once on top of the rate (the server's limiter starts full). */
const BURST = 2 * RATE + 5;
const here = path.dirname(fileURLToPath(import.meta.url));

const outDir = path.join(projectRoot, '.provisioner', 'test-build', uniqueName('app-worker'));

/** Compiles the worker fixture (and what it imports) to plain JS that `node` runs. */
async function compileFixture(): Promise<string> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const fixture = path.join(here, 'fixtures', 'app-worker-process.ts');
  // prettier-ignore
  await promisify(execFile)(process.execPath, [
    tsc, '--outDir', outDir, '--rootDir', projectRoot, '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--types', 'node', '--skipLibCheck', '--noCheck', '--esModuleInterop', '--resolveJsonModule', fixture,
  ], { cwd: projectRoot });
  return path.join(outDir, path.relative(projectRoot, fixture).replace(/\.ts$/, '.js'));
}

type WorkerProcess = { child: ChildProcess; ready: Promise<number>; done: Promise<{ executed: number }> };

function startWorkerProcess(script: string, input: object, env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, [script, JSON.stringify(input)], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout! });
  let onReady: (pid: number) => void;
  let onDone: (v: { executed: number }) => void;
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before it was ready:\n${stderr}`)));
  });
  const done = new Promise<{ executed: number }>((resolve, reject) => {
    onDone = resolve;
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker process exited with ${code}:\n${stderr}`))));
  });
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { ready?: number; done?: number; executed?: number };
    if (message.ready) onReady(message.ready);
    if (message.done) onDone({ executed: message.executed ?? 0 });
  });
  return { child, ready, done };
}

/** The most events in any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('per-application rate limit across worker processes', () => {
  let script: string;
  const processes: WorkerProcess[] = [];
  // The activities audit every step: a store schema of this test's own, shared by both processes.
  const storeSchema = uniqueName('store').replaceAll('-', '_');
  const storeEnv = { ...process.env, PROVISIONER_STORE_SCHEMA: storeSchema, PROVISIONER_AUDIT_CHECKPOINTS: path.join(mkdtempSync(path.join(tmpdir(), 'audit-')), 'checkpoints.jsonl') };
  let store: Store;

  beforeAll(async () => {
    // The processes read the same schema from their environment (PROVISIONER_STORE_SCHEMA).
    store = await openStore({ ...cfg, postgres: { ...cfg.postgres, schema: storeSchema }, audit: { ...cfg.audit, checkpointsFile: storeEnv.PROVISIONER_AUDIT_CHECKPOINTS } }, { env: storeEnv, migrate: true, createKeys: true });
    script = await compileFixture();
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
    await store?.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
    await store?.close();
  });

  it(`200 activities wanting one app run at no more than ${RATE}/s in total across two worker processes`, async () => {
    const app = await startTestScimApp({ name: 'crm' });
    const baseQueue = uniqueName('rate');
    const taskQueue = appTaskQueue(baseQueue, 'crm');
    const input = { address: cfg.temporal.address, namespace: cfg.temporal.namespace, baseQueue, app: 'crm', scimUrl: app.scimUrl, token: app.bearerToken, rate: RATE };
    processes.push(startWorkerProcess(script, input, storeEnv), startWorkerProcess(script, input, storeEnv));
    const pids = await Promise.all(processes.map((p) => p.ready));

    const env = await TestWorkflowEnvironment.createFromExistingServer(existingServerOptions(cfg));
    try {
      const workflowQueue = uniqueName('rate-workflows');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: cfg.temporal.namespace,
        taskQueue: workflowQueue,
        workflowsPath: path.join(here, 'fixtures', 'fan-out-workflow.ts'),
      });
      const started = Date.now();
      const results: Array<{ outcome: string; worker?: number }> = await worker.runUntil(
        env.client.workflow.execute('fanOutEnsureAccounts', {
          taskQueue: workflowQueue,
          workflowId: uniqueName('fan-out'),
          args: [{ taskQueue, app: 'crm', count: COUNT, prefix: uniqueName('E') }],
        }),
      );
      const elapsedMs = Date.now() - started;

      for (const p of processes) p.child.kill('SIGTERM');
      const executed = (await Promise.all(processes.map((p) => p.done))).map((d) => d.executed);

      const writes = (await app.admin.writes()).filter((w) => w.operation === 'create');
      const times = writes.map((w) => w.at);
      const spanS = (Math.max(...times) - Math.min(...times)) / 1000;
      const busiest = [1, 2, 5, 10].map((seconds) => `${seconds} s: ${busiestWindow(times, seconds * 1000)}`).join(', ');
      const byWorker = new Map<number, number>();
      const t0 = Math.min(...times);
      const perSecond: number[] = [];
      for (const t of times) perSecond[Math.floor((t - t0) / 1000)] = (perSecond[Math.floor((t - t0) / 1000)] ?? 0) + 1;
      process.stderr.write(`[rate-limit] per second: ${[...perSecond].map((n) => n ?? 0).join(' ')}\n`);
      for (const r of results) byWorker.set(r.worker!, (byWorker.get(r.worker!) ?? 0) + 1);
      process.stderr.write(
        `[rate-limit] ${COUNT} creates in ${spanS.toFixed(1)} s (workflow ${(elapsedMs / 1000).toFixed(1)} s): ` +
          `${((COUNT - 1) / spanS).toFixed(2)}/s on average, busiest windows ${busiest}, limit ${RATE}/s; ` +
          `per process ${JSON.stringify(Object.fromEntries(byWorker))} (executed ${executed.join(' + ')})\n`,
      );

      // Every activity converged to exactly one account, with no duplicate.
      expect(results).toHaveLength(COUNT);
      expect(results.every((r) => r.outcome === 'created' || r.outcome === 'unchanged')).toBe(true);
      expect(new Set(writes.map((w) => w.externalId)).size).toBe(COUNT);
      expect(writes).toHaveLength(COUNT);
      // Both processes did the work: the limit is the queue's, not one worker's.
      expect(new Set(byWorker.keys())).toEqual(new Set(pids));
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(COUNT / 10);
      // The call rate stayed within the limit: on average, and in every window as a token bucket
      // allows (the server's limiter starts full, so a window may hold RATE × seconds + BURST).
      expect((COUNT - 1) / spanS).toBeLessThanOrEqual(RATE * 1.1);
      for (const seconds of [1, 2, 5, 10]) expect(busiestWindow(times, seconds * 1000)).toBeLessThanOrEqual(RATE * seconds + BURST);
      expect(spanS).toBeGreaterThanOrEqual((COUNT - BURST) / RATE);
    } finally {
      await env.teardown();
      await app.close();
    }
  });
});
