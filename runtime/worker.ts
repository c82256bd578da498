// The provisioning worker: the workflows and their bookkeeping activities on the base task queue,
// and one activity worker per application on its own rate-limited queue for the connector calls.
// Everything it needs is built here, once: policy, store, connectors, outcome producer.
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createGrantSweepActivities } from '../activities/grant-sweep.js';
import { createActivities } from '../activities/index.js';
import { dataConverter } from '../codec/data-converter.js';
import type { Connector } from '../connectors/contract.js';
import { createOutcomeProducer } from '../ingress/outcome-producer.js';
import type { Logger } from '../observability/logger.js';
import { installTemporalRuntime } from '../observability/temporal-logger.js';
import { tracingOff, type Tracing } from '../observability/tracing/provider.js';
import { activityInterceptors, workflowClientInterceptors, workflowSinks } from '../observability/tracing/temporal.js';
import { registerStoreGauges } from './store-metrics.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Config } from '../schemas/config.js';
import { checkpointDestinations, checkpointerOptions, createKafkaAuditSink, openStore, startAuditPublisher, startCheckpointer, type Checkpointer, type Store } from '../store/index.js';
import { createAppActivityWorker, type AppActivityWorker } from './app-activity-workers.js';
import { ensureGrantSweepSchedule } from './grant-sweep-schedule.js';
import { ensureReconcileSchedules } from './reconcile-schedules.js';
import { loadConnectorsFile, type ConnectorConfig } from '../connectors/config.js';
import { connectorsForPolicy } from './connectors.js';
import { workflowCode } from './workflows-path.js';
import { fixedPolicy, followAppliedPolicy, loadPolicyOrThrow } from './policy-source.js';
import { createPolicyRolloutActivities } from '../activities/policy-rollout.js';
import { newestAppliedVersion } from '../store/policy-applied.js';
import { pendingRolloutStarter } from './pending-rollouts.js';

export { loadPolicyOrThrow };
import { connectTemporalNative } from '../clients/temporal-connection.js';

export type ProvisioningWorker = {
  worker: Worker;
  appWorkers: AppActivityWorker[];
  /** The policy in force now (the newest applied version when the worker follows the store). */
  readonly policy: CompiledPolicy;
  connectors: ReadonlyMap<string, Connector>;
  store: Store;
  /** Runs until shutdown() (SIGTERM): in-flight activities finish first. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
  isReady(): boolean;
  /** Each checkpoint destination's state; healthy() is false once one has failed longer than the grace. */
  checkpoints: Pick<Checkpointer, 'status' | 'healthy'> | undefined;
};

export async function createProvisioningWorker(
  cfg: Config,
  logger: Logger,
  options: {
    taskQueue?: string;
    connectorConfigs?: ConnectorConfig[];
    /** A fixed policy (tests, tools); without it the worker follows the newest version applied in the store. */
    policy?: CompiledPolicy;
    /** With `policy`: follow the store all the same (seeded from cfg.policy.dir when nothing was applied). */
    followAppliedPolicy?: boolean;
    store?: Store;
    /** false: create no reconciliation schedules (tests that start reconciliations themselves). Default true. */
    reconcileSchedules?: boolean;
    /** The process's tracing (observability/tracing/provider.ts): spans of workflows and activities exported when on. Default off. */
    tracing?: Tracing;
  } = {},
): Promise<ProvisioningWorker> {
  await installTemporalRuntime(logger);
  const fixed = options.policy && !options.followAppliedPolicy ? options.policy : undefined;
  // A broken policy folder stops the start before anything is opened (the store's version may be valid, the folder is what people edit).
  if (!fixed) loadPolicyOrThrow(cfg.policy.dir);
  const connectorConfigs = options.connectorConfigs ?? loadConnectorsFile(cfg.connectors.file);
  const store = options.store ?? (await openStore(cfg, { migrate: true, createKeys: true, logger }));
  const connection = await connectTemporalNative(cfg);
  const taskQueue = options.taskQueue ?? cfg.temporal.taskQueue;
  const converter = dataConverter(cfg.dataDir, cfg.mode);
  const tracing = options.tracing ?? tracingOff;
  const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: converter, interceptors: { workflow: workflowClientInterceptors(tracing) } });
  // A version whose apply could not start its rollout is started here, at start and on each poll.
  const startPendingRollout = pendingRolloutStarter({ client, taskQueue, pace: cfg.policy, logger: logger.child({ component: 'policy-rollout' }) });
  const policySource = fixed
    ? fixedPolicy(fixed)
    : await followAppliedPolicy({ store, dir: cfg.policy.dir, pollSeconds: cfg.policy.pollSeconds, logger: logger.child({ component: 'policy' }), onPoll: startPendingRollout });
  const policy = policySource.current;
  // The connectors are built for the policy in force at start; an application a later version adds needs a restart.
  const startPolicy = policy();
  const { connectors, missing } = connectorsForPolicy(cfg, startPolicy, connectorConfigs, logger.child({ component: 'connectors' }));
  if (missing.length > 0) logger.warn({ missing }, 'applications of the policy without a connector: their steps are not planned');
  // The store's owner also ships its audit records to Kafka (for the SIEM) and checkpoints the
  // head of the chain outside the database's host (audit.checkpointTo: the file, the audit topic),
  // so a truncated tail is detectable; a failing destination is retried and shows in /ready.
  const auditSink = options.store ? undefined : await createKafkaAuditSink(cfg, { logger });
  const auditPublisher = auditSink ? startAuditPublisher(store.pool, auditSink, { logger }) : undefined;
  const checkpointer = auditSink ? startCheckpointer(store.pool, store.keys.signer, checkpointDestinations(cfg, auditSink), checkpointerOptions(cfg, logger)) : undefined;
  registerStoreGauges(store.pool, checkpointer ? { checkpoints: () => checkpointer.status() } : {});
  const outcomes = await createOutcomeProducer(cfg, logger);
  /** An application's rate on its queue: its own (its connector entry) wins over the connector kind's default. */
  const appRate = (app: string): number => {
    const decl = startPolicy.applications.get(app);
    const limits = decl?.connector === 'ldap' ? cfg.ldapConnector : cfg.scimConnector;
    return connectorConfigs.find((c) => c.type === decl?.connector && c.app === decl?.config)?.maxActivitiesPerSecond ?? limits.maxActivitiesPerSecond;
  };
  const activities = {
    ...createActivities({ policy, policyFor: policySource.forChange, connectors, store, publishOutcome: (o) => outcomes.publish(o), logger: logger.child({ component: 'activities' }), safety: cfg.safety, temporal: { client, taskQueue }, appRate }),
    ...createGrantSweepActivities({ store, client }),
    ...createPolicyRolloutActivities({ store, client, logger: logger.child({ component: 'policy-rollout' }) }),
  };
  const { workflowModules, ...code } = workflowCode((message) => logger.warn(message));
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    ...code,
    dataConverter: converter,
    activities,
    interceptors: { workflowModules, activity: activityInterceptors(tracing) },
    sinks: workflowSinks(tracing),
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '20 seconds',
  });
  // Per app: its queue and its urgent queue (leavers first), each with its server-enforced rate.
  const appWorkers = await Promise.all(
    [...connectors.entries()].map(([app, connector]) => {
      const limits = startPolicy.applications.get(app)?.connector === 'ldap' ? cfg.ldapConnector : cfg.scimConnector;
      return createAppActivityWorker({
        cfg,
        logger,
        app,
        connector,
        activities,
        baseQueue: taskQueue,
        connection,
        dataConverter: converter,
        maxActivitiesPerSecond: appRate(app),
        urgentMaxActivitiesPerSecond: limits.urgentMaxActivitiesPerSecond,
        tracing,
      });
    }),
  );
  // The safety net of request grants: a schedule this worker's queue serves (idempotent across restarts).
  const grantSweepSchedule = await ensureGrantSweepSchedule(client, taskQueue, cfg.grantSweep);
  // Each application's reconciliation, at the interval of the policy in force at start (policy `reconcile`).
  const reconcileSchedules = options.reconcileSchedules === false ? [] : await ensureReconcileSchedules(client, taskQueue, startPolicy, connectors);
  if (!fixed) await startPendingRollout(await newestAppliedVersion(store.pool));
  logger.info({ taskQueue, grantSweepSchedule, reconcileSchedules, policyVersion: policy().version, apps: [...connectors.keys()], planOnly: cfg.safety.planOnly }, 'worker ready');
  let stopped: Promise<void> | undefined;
  const running = (async () => {
    try {
      await Promise.all([worker.run(), ...appWorkers.map((w) => w.run())]);
    } finally {
      policySource.stop();
      await outcomes.close().catch(() => undefined);
      await auditPublisher?.stop().catch(() => undefined);
      await checkpointer?.stop().catch(() => undefined);
      await auditSink?.close().catch(() => undefined);
      if (!options.store) await store.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  })();
  return {
    worker,
    appWorkers,
    get policy() {
      return policy();
    },
    connectors,
    store,
    run: () => running,
    async shutdown() {
      stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await Promise.all(appWorkers.map((w) => w.shutdown()));
        await running;
      })();
      await stopped;
    },
    isReady: () => worker.getState() === 'RUNNING' && appWorkers.every((w) => w.isReady()),
    checkpoints: checkpointer,
  };
}
