// Per-application activity workers: rate limits that hold across every worker (docs/architecture.md#task-queues-and-rate-limits).
//
// Activities that call one application run on that application's own task queue,
// `${baseQueue}-app-${app}`, and every worker polling it asks the Temporal server for the same
// `maxTaskQueueActivitiesPerSecond`. The server dispatches no faster than that to all of them
// together, so a joiner surge becomes a queue instead of a storm of 429s, however many worker
// processes run. (The per-worker `maxActivitiesPerSecond` would multiply with the worker count.)
// A 429 that still happens carries Retry-After: the connector throws a TransientError with
// retryAfterMs and the activity boundary turns it into nextRetryDelay.
//
// Leavers first (docs/architecture.md#leavers-first): each app has a second queue, `${baseQueue}-app-${app}-urgent`, for
// the steps that cut access (disables, deletes, a termination's revokes; workflows/apply-plan.ts
// decides which). The same process polls it with a worker of its own: its own slots, and its own
// server-enforced rate (`urgentMaxActivitiesPerSecond`), so a leaver's disable never waits behind a
// joiner surge's backlog or for the joiners' rate budget. The app's API must take both rates.
//
// The activities are the connector activities of activities/steps.ts and activities/plan.ts (the
// verbs and readAccount), served on these queues; workflows/connector-activities.ts schedules them
// there, with the queue names of workflows/task-queues.ts.
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Connector } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import { installTemporalRuntime } from '../observability/temporal-logger.js';
import { activityInterceptors } from '../observability/tracing/temporal.js';
import { tracingOff, type Tracing } from '../observability/tracing/provider.js';
import type { Config } from '../schemas/config.js';
import { appTaskQueue, urgentAppTaskQueue } from '../workflows/task-queues.js';
import { connectTemporalNative } from '../clients/temporal-connection.js';

/** The urgent queue's rate when none is configured (activities/s, across all workers). */
export const DEFAULT_URGENT_ACTIVITIES_PER_SECOND = 10;

export type AppActivityWorkerOptions = {
  cfg: Config;
  logger: Logger;
  app: string;
  /** Closed when the worker stops. */
  connector?: Connector;
  /** The activities this queue serves: the connector activities (createActivities, or createStepActivities and readAccount). */
  activities: object;
  /** The app's limit across all workers on its queue, enforced by the Temporal server. */
  maxActivitiesPerSecond: number;
  /** Activities one worker runs at once. Default 20. */
  maxConcurrentActivities?: number;
  /** The limit of the app's urgent queue across all workers, on top of maxActivitiesPerSecond. Default 10. */
  urgentMaxActivitiesPerSecond?: number;
  /** Urgent activities one worker runs at once. Default 10. */
  urgentMaxConcurrentActivities?: number;
  /** Default cfg.temporal.taskQueue. */
  baseQueue?: string;
  /** Share one connection among several workers; default: a connection of its own (closed on stop). */
  connection?: NativeConnection;
  /** The payload codec and failure converter (codec/data-converter.ts); payloads stay encrypted on this queue too. */
  dataConverter?: DataConverter;
  /** The process's tracing: RunActivity spans around the connector calls when on. Default off. */
  tracing?: Tracing;
};

export type AppActivityWorker = {
  app: string;
  taskQueue: string;
  worker: Worker;
  /** The app's urgent queue and its worker (same activities, own slots and rate). */
  urgentTaskQueue: string;
  urgentWorker: Worker;
  /** Runs until shutdown(): in-flight activities finish first. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
  isReady(): boolean;
};

export async function createAppActivityWorker(options: AppActivityWorkerOptions): Promise<AppActivityWorker> {
  const { cfg, logger, app, connector } = options;
  const urgentRate = options.urgentMaxActivitiesPerSecond ?? DEFAULT_URGENT_ACTIVITIES_PER_SECOND;
  if (!(options.maxActivitiesPerSecond > 0)) throw new RangeError(`app ${app}: maxActivitiesPerSecond must be a positive number`);
  if (!(urgentRate > 0)) throw new RangeError(`app ${app}: urgentMaxActivitiesPerSecond must be a positive number`);
  const { activities } = options;
  await installTemporalRuntime(logger);
  const baseQueue = options.baseQueue ?? cfg.temporal.taskQueue;
  const taskQueue = appTaskQueue(baseQueue, app);
  const urgentTaskQueue = urgentAppTaskQueue(baseQueue, app);
  const ownConnection = !options.connection;
  const connection = options.connection ?? (await connectTemporalNative(cfg));
  const create = (queue: string, rate: number, concurrent: number) =>
    Worker.create({
      connection,
      namespace: cfg.temporal.namespace,
      taskQueue: queue,
      activities,
      ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
      interceptors: { activity: activityInterceptors(options.tracing ?? tracingOff) },
      // Server-side, for the task queue as a whole: the limit holds across every worker process.
      maxTaskQueueActivitiesPerSecond: rate,
      maxConcurrentActivityTaskExecutions: concurrent,
      shutdownGraceTime: '20 seconds',
    });
  let worker: Worker;
  let urgentWorker: Worker;
  try {
    worker = await create(taskQueue, options.maxActivitiesPerSecond, options.maxConcurrentActivities ?? 20);
    urgentWorker = await create(urgentTaskQueue, urgentRate, options.urgentMaxConcurrentActivities ?? 10);
  } catch (err) {
    if (ownConnection) await connection.close().catch(() => undefined);
    throw err;
  }
  const workers = [worker, urgentWorker];
  logger.info({ app, taskQueue, maxActivitiesPerSecond: options.maxActivitiesPerSecond, urgentTaskQueue, urgentMaxActivitiesPerSecond: urgentRate }, 'app activity worker ready');
  let running: Promise<void> | undefined;
  const run = () =>
    (running ??= (async () => {
      try {
        // Both run until shutdown; if one fails, the other is stopped too (a half-served app is not ready).
        const results = await Promise.allSettled(
          workers.map((w) =>
            w.run().catch((err: unknown) => {
              for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
              throw err;
            }),
          ),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        await connector?.close?.().catch(() => undefined);
        if (ownConnection) await connection.close().catch(() => undefined);
      }
    })());
  return {
    app,
    taskQueue,
    worker,
    urgentTaskQueue,
    urgentWorker,
    run,
    async shutdown() {
      if (!running) {
        // Never ran: nothing is polling, only the resources to release.
        await connector?.close?.().catch(() => undefined);
        if (ownConnection) await connection.close().catch(() => undefined);
        return;
      }
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
    isReady: () => workers.every((w) => w.getState() === 'RUNNING'),
  };
}
