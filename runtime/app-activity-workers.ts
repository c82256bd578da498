// Per-application activity workers: rate limits that hold across every worker (DESIGN.md §5).
//
// Activities that call one application run on that application's own task queue,
// `${baseQueue}-app-${app}`, and every worker polling it asks the Temporal server for the same
// `maxTaskQueueActivitiesPerSecond`. The server dispatches no faster than that to all of them
// together, so a joiner surge becomes a queue instead of a storm of 429s, however many worker
// processes run. (The per-worker `maxActivitiesPerSecond` would multiply with the worker count.)
// A 429 that still happens carries Retry-After: the connector throws a TransientError with
// retryAfterMs and the activity boundary turns it into nextRetryDelay.
//
// Leavers first (DESIGN.md §4): each app has a second queue, `${baseQueue}-app-${app}-urgent`, for
// the steps that cut access (disables, deletes, a termination's revokes; workflows/apply-plan.ts
// decides which). The same process polls it with a worker of its own: its own slots, and its own
// server-enforced rate (`urgentMaxActivitiesPerSecond`), so a leaver's disable never waits behind a
// joiner surge's backlog or for the joiners' rate budget. The app's API must take both rates.
//
// Workflows pick the queue per step: proxyActivities({ taskQueue: appTaskQueue(base, app), ... }).
// The name is computed here, outside the workflow sandbox; workflows receive it in their input or
// in the plan, or rebuild it with the same template (it is part of the deployment contract).
import type { DataConverter } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { atBoundary } from '../activities/failures.js';
import type { AccountRef, CallContext, Connector, EnsureAccountRequest } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import { installTemporalRuntime } from '../observability/temporal-logger.js';
import type { Config } from '../schemas/config.js';

/** The task queue of one application's activities. */
export function appTaskQueue(baseQueue: string, app: string): string {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(app)) throw new RangeError(`not an application name: ${JSON.stringify(app)}`);
  return `${baseQueue}-app-${app}`;
}

/** The task queue of one application's urgent steps (the template workflows/apply-plan.ts uses). */
export function urgentAppTaskQueue(baseQueue: string, app: string): string {
  return `${appTaskQueue(baseQueue, app)}-urgent`;
}

/** The urgent queue's rate when none is configured (activities/s, across all workers). */
export const DEFAULT_URGENT_ACTIVITIES_PER_SECOND = 10;

/** Every connector activity names its app, so a task that reached the wrong queue fails loudly. */
type AppInput = { app: string; idempotencyKey: string };

export type EnsureAccountActivityInput = AppInput & { request: EnsureAccountRequest };
export type AccountActivityInput = AppInput & { account: AccountRef };
export type EntitlementActivityInput = AppInput & { account: AccountRef; entitlementId: string };
export type PageActivityInput = AppInput & { cursor?: string; pageSize?: number };

function callContext(idempotencyKey: string): CallContext {
  const ctx = Context.current();
  return {
    idempotencyKey,
    correlationId: ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId,
    signal: ctx.cancellationSignal,
  };
}

/**
 * The connector's verbs as activities, errors converted at the boundary (activities/failures.ts).
 * Names read as sentences; inputs are objects naming the app.
 */
export function connectorActivities(connector: Connector, logger?: Logger) {
  const log = logger?.child({ app: connector.app, component: 'connector-activities' });
  const checked = (input: AppInput, verb: string) => {
    // Programmer errors (TypeError) are never retried.
    if (input.app !== connector.app) throw new TypeError(`${verb} for app ${input.app} reached the worker of app ${connector.app}`);
  };
  const capability = <T>(method: T | undefined, verb: string): T => {
    if (!method) throw new TypeError(`the ${connector.app} connector cannot ${verb}`);
    return method;
  };
  const done = <T extends { status: string }>(verb: string, fields: Record<string, unknown>, result: T): T => {
    log?.info({ ...fields, status: result.status, attempt: Context.current().info.attempt }, verb);
    return result;
  };

  return {
    async getAccount(input: AppInput & { employeeId: string }) {
      checked(input, 'getAccount');
      return (await atBoundary(() => connector.getAccount({ employeeId: input.employeeId }, callContext(input.idempotencyKey)))) ?? null;
    },
    async ensureAccount(input: EnsureAccountActivityInput) {
      checked(input, 'ensureAccount');
      const result = await atBoundary(() => connector.ensureAccount(input.request, callContext(input.idempotencyKey)));
      return done('ensureAccount', { employeeId: input.request.employeeId }, result);
    },
    async disableAccount(input: AccountActivityInput) {
      checked(input, 'disableAccount');
      const disable = capability(connector.disableAccount?.bind(connector), 'disable accounts');
      return done('disableAccount', { employeeId: input.account.externalId }, await atBoundary(() => disable({ account: input.account }, callContext(input.idempotencyKey))));
    },
    async enableAccount(input: AccountActivityInput) {
      checked(input, 'enableAccount');
      const enable = capability(connector.enableAccount?.bind(connector), 'enable accounts');
      return done('enableAccount', { employeeId: input.account.externalId }, await atBoundary(() => enable({ account: input.account }, callContext(input.idempotencyKey))));
    },
    async deleteAccount(input: AccountActivityInput) {
      checked(input, 'deleteAccount');
      const remove = capability(connector.deleteAccount?.bind(connector), 'delete accounts');
      return done('deleteAccount', { employeeId: input.account.externalId }, await atBoundary(() => remove({ account: input.account }, callContext(input.idempotencyKey))));
    },
    async grantEntitlement(input: EntitlementActivityInput) {
      checked(input, 'grantEntitlement');
      const grant = capability(connector.grant?.bind(connector), 'grant entitlements');
      const req = { account: input.account, entitlementId: input.entitlementId };
      return done('grantEntitlement', { employeeId: input.account.externalId, entitlementId: input.entitlementId }, await atBoundary(() => grant(req, callContext(input.idempotencyKey))));
    },
    async revokeEntitlement(input: EntitlementActivityInput) {
      checked(input, 'revokeEntitlement');
      const revoke = capability(connector.revoke?.bind(connector), 'revoke entitlements');
      const req = { account: input.account, entitlementId: input.entitlementId };
      return done('revokeEntitlement', { employeeId: input.account.externalId, entitlementId: input.entitlementId }, await atBoundary(() => revoke(req, callContext(input.idempotencyKey))));
    },
    /** One page; a reconciliation reads pages in a heartbeating activity of its own instead. */
    async listAccountsPage(input: PageActivityInput) {
      checked(input, 'listAccountsPage');
      const list = capability(connector.listAccounts?.bind(connector), 'list accounts');
      return atBoundary(() => list({ ...(input.cursor ? { cursor: input.cursor } : {}), ...(input.pageSize ? { pageSize: input.pageSize } : {}) }, callContext(input.idempotencyKey)));
    },
    async listEntitlementsPage(input: PageActivityInput) {
      checked(input, 'listEntitlementsPage');
      const list = capability(connector.listEntitlements?.bind(connector), 'list entitlements');
      return atBoundary(() => list({ ...(input.cursor ? { cursor: input.cursor } : {}), ...(input.pageSize ? { pageSize: input.pageSize } : {}) }, callContext(input.idempotencyKey)));
    },
  };
}

export type ConnectorActivities = ReturnType<typeof connectorActivities>;

export type AppActivityWorkerOptions = {
  cfg: Config;
  logger: Logger;
  app: string;
  /** Closed when the worker stops. Needed unless `activities` is given. */
  connector?: Connector;
  /** The activities this queue serves; default `connectorActivities(connector)`. */
  activities?: object;
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
  const activities = options.activities ?? (connector ? connectorActivities(connector, logger) : undefined);
  if (!activities) throw new TypeError(`app ${app}: give a connector or the activities to serve`);
  installTemporalRuntime(logger);
  const baseQueue = options.baseQueue ?? cfg.temporal.taskQueue;
  const taskQueue = appTaskQueue(baseQueue, app);
  const urgentTaskQueue = urgentAppTaskQueue(baseQueue, app);
  const ownConnection = !options.connection;
  const connection = options.connection ?? (await NativeConnection.connect({ address: cfg.temporal.address }));
  const create = (queue: string, rate: number, concurrent: number) =>
    Worker.create({
      connection,
      namespace: cfg.temporal.namespace,
      taskQueue: queue,
      activities,
      ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
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

/** One worker per app on one shared connection; `run` resolves when all have stopped. */
export async function createAppActivityWorkers(options: {
  cfg: Config;
  logger: Logger;
  apps: Array<{ app: string; connector: Connector; maxActivitiesPerSecond: number; maxConcurrentActivities?: number; urgentMaxActivitiesPerSecond?: number }>;
  baseQueue?: string;
}): Promise<{ workers: AppActivityWorker[]; run(): Promise<void>; shutdown(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: options.cfg.temporal.address });
  const workers: AppActivityWorker[] = [];
  try {
    for (const a of options.apps) {
      workers.push(
        await createAppActivityWorker({
          cfg: options.cfg,
          logger: options.logger,
          connection,
          ...a,
          ...(options.baseQueue ? { baseQueue: options.baseQueue } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(workers.map((w) => w.shutdown().catch(() => undefined)));
    await connection.close().catch(() => undefined);
    throw err;
  }
  let all: Promise<void> | undefined;
  const run = () =>
    (all ??= Promise.allSettled(workers.map((w) => w.run())).then(async (results) => {
      await connection.close().catch(() => undefined);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }));
  return {
    workers,
    run,
    async shutdown() {
      if (!all) {
        await Promise.all(workers.map((w) => w.shutdown()));
        await connection.close().catch(() => undefined);
        return;
      }
      await Promise.all(workers.map((w) => w.shutdown()));
      await all;
    },
  };
}
