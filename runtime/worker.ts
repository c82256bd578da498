// The provisioning worker: workflows and activities on the configured task queue, with a SCIM
// connector per configured app and the outcome producer.
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { AccountConnector } from '../connectors/contract.js';
import { ScimConnector } from '../connectors/scim/scim-connector.js';
import { createOutcomeProducer } from '../ingress/outcome-producer.js';
import type { Logger } from '../observability/logger.js';
import { installTemporalRuntime } from '../observability/temporal-logger.js';
import { loadAppsFile, type ResolvedApp } from '../schemas/apps.js';
import { projectRoot, type Config } from '../schemas/config.js';
import { workflowsPath } from './workflows-path.js';

export type ProvisioningWorker = {
  worker: Worker;
  apps: ResolvedApp[];
  /** Runs until shutdown() (SIGTERM): in-flight activities finish first. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
  isReady(): boolean;
};

export function connectorsFor(apps: ResolvedApp[]): Map<string, AccountConnector> {
  return new Map(
    apps.map((app) => {
      const token = app.bearerTokens[0];
      if (!token) throw new Error(`app ${app.name} has no bearer token for the worker (OAuth client credentials arrive with the full SCIM connector)`);
      return [app.name, new ScimConnector({ app: app.name, baseUrl: app.scimUrl, bearerToken: () => token, timeoutMs: 5_000 })];
    }),
  );
}

export async function createProvisioningWorker(
  cfg: Config,
  logger: Logger,
  options: { taskQueue?: string; apps?: ResolvedApp[] } = {},
): Promise<ProvisioningWorker> {
  installTemporalRuntime(logger);
  const apps = options.apps ?? loadAppsFile(cfg.apps.file, { root: projectRoot });
  const outcomes = await createOutcomeProducer(cfg, logger);
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const taskQueue = options.taskQueue ?? cfg.temporal.taskQueue;
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowsPath: workflowsPath(),
    activities: createActivities({ connectors: connectorsFor(apps), publishOutcome: (o) => outcomes.publish(o), logger: logger.child({ component: 'activities' }) }),
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '20 seconds',
  });
  logger.info({ taskQueue, apps: apps.map((a) => a.name) }, 'worker ready');
  let stopped: Promise<void> | undefined;
  const running = (async () => {
    try {
      await worker.run();
    } finally {
      await outcomes.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  })();
  return {
    worker,
    apps,
    run: () => running,
    async shutdown() {
      stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      })();
      await stopped;
    },
    isReady: () => worker.getState() === 'RUNNING',
  };
}
