// The workflow tests' harness: a test runs in a scenario of its own, a time-skipping test server
// (time is a property of the server: a test's clock must not be moved, or stopped, by another's
// workflows) with workers serving the prebuilt workflow bundle and the stubbed activities on the
// base queue and on every application's queues; and a way to wait for a workflow's state without
// sleeping.
//
// Time only moves when a test says so: the test server skips time while a client awaits a
// workflow's result or during `env.sleep(ms)`, which runs the timers due in that span at once.
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { inject } from 'vitest';
import { searchAttributes } from '../../stack/temporal.js';
import type { Stubs } from './stub-activities.js';
import { appTaskQueue, urgentAppTaskQueue } from '../../workflows/task-queues.js';
import { tracingOff } from '../../observability/tracing/provider.js';
import { workflowSinks } from '../../observability/tracing/temporal.js';

/**
 * Starts the test server with the search attributes the workflows set (as the dev server of the
 * stack has them). The SDK gives the server 5 s to listen, which a busy machine can miss: retried.
 */
async function timeSkippingEnvironment(attempts = 3): Promise<TestWorkflowEnvironment> {
  const path = inject('testServer');
  for (let attempt = 1; ; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
      await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
      return env;
    } catch (err) {
      if (attempt >= attempts) throw new Error(`the time-skipping test server (${path}) did not start in ${attempts} attempts: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** A unique name for a test's people. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * The application queues the workflows schedule connector calls on: `<base>-app-<app>` and its
 * urgent twin (named by the workflows' task-queue namers; runtime/app-activity-workers.ts polls the same).
 */
const appQueues = (base: string, app: string) => [appTaskQueue(base, app), urgentAppTaskQueue(base, app)];

export type Scenario = { env: TestWorkflowEnvironment; taskQueue: string };

/**
 * Runs `body` on a test server of its own while workers serve the workflows (the prebuilt bundle)
 * and the stubs on the base queue and on each application's queues; then stops them all.
 */
export async function scenario<T>(options: { apps: string[]; stubs: Stubs }, body: (s: Scenario) => Promise<T>): Promise<T> {
  const taskQueue = unique('provisioning');
  const env = await timeSkippingEnvironment();
  try {
    const workflows = { workflowBundle: { codePath: inject('workflowBundle') } };
    return await runWorkers(env.nativeConnection, { ...options, taskQueue, workflows }, () => body({ env, taskQueue }));
  } finally {
    await env.teardown();
  }
}

/** Runs `body` while workers serve the workflows and the stubs on `taskQueue` and on each application's queues. */
export async function runWorkers<T>(
  connection: NativeConnection,
  options: { namespace?: string; taskQueue: string; apps: string[]; stubs: Stubs; workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors' | 'sinks'> },
  body: () => Promise<T>,
): Promise<T> {
  const { namespace, taskQueue, apps, stubs } = options;
  const workers = await Promise.all([
    // The bundle's workflow interceptors hand their spans to a sink: the no-op one, as a worker without a tracer has.
    Worker.create({ connection, namespace, taskQueue, sinks: workflowSinks(tracingOff), ...options.workflows, activities: stubs.activities }),
    ...apps.flatMap((app) => appQueues(taskQueue, app).map((queue) => Worker.create({ connection, namespace, taskQueue: queue, activities: stubs.activities }))),
  ]);
  const running = Promise.all(workers.map((w) => w.run()));
  // A worker that fails fails the test (after the others are stopped).
  const stopped = running.then(() => undefined, (err: unknown) => err);
  const unstubbed = (cause?: unknown) => new Error(`the workflows called activities that test/workflows/stub-activities.ts does not stub: ${stubs.missing.join(', ')}`, { cause });
  let result: T;
  let failed: unknown;
  try {
    result = await body();
  } catch (err) {
    // A test that timed out waiting for a workflow that called an unknown activity: say which.
    if (stubs.missing.length > 0) throw unstubbed(err);
    throw err;
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    failed = await stopped;
  }
  if (failed) throw failed;
  if (stubs.missing.length > 0) throw unstubbed();
  return result;
}

/** Polls `probe` (real time, the server's clock stands still) until it returns a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the outcome the workflow published that `match` picks. */
export const outcome = (stubs: Stubs, what: string, match: (o: Stubs['outcomes'][number]) => boolean) =>
  until(`the outcome of ${what}`, async () => stubs.outcomes.find(match));

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const iso = (ms: number) => new Date(ms).toISOString();
