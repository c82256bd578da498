// The whole walking skeleton for one integration test file: its own topics, task queue, consumer
// group and SCIM apps, with the real worker and ingress on the real stack.
import { createKafka } from '../../kafka/client.js';
import { readToEnd } from '../../kafka/topic-reader.js';
import { ensureTopics } from '../../stack/kafka.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { parseConnectorConfig, type ConnectorConfig } from '../../connectors/config.js';
import { appUrls } from '../../targets/apps-file.js';
import type { Behaviour } from '../../targets/profiles.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { startIngress, type Ingress } from '../../runtime/ingress.js';
import type { Tracing } from '../../observability/tracing/provider.js';
import { grantSweepScheduleId } from '../../runtime/grant-sweep-schedule.js';
import { deleteReconcileSchedules } from '../../runtime/reconcile-schedules.js';
import { createProvisioningWorker, loadPolicyOrThrow, type ProvisioningWorker } from '../../runtime/worker.js';
import { ensurePolicyEntitlements } from '../../activities/entitlement-sync.js';
import { openStore, type Store } from '../../store/index.js';
import path from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startTestScimApp, type TestScimApp } from './scim-app.js';
import { uniqueName } from './unique.js';

export type Pipeline = {
  cfg: Config;
  taskQueue: string;
  apps: TestScimApp[];
  /** How the worker reaches each test app: its tokens by reference, as in production. */
  connectorConfigs: ConnectorConfig[];
  worker: ProvisioningWorker;
  ingress: Ingress;
  store: Store;
  /** Produces raw messages (bytes as given, with their headers) to the test's hr.lifecycle topic. */
  produce(messages: Array<{ key: string | null; value: string | Buffer | null; headers?: Record<string, string> }>): Promise<void>;
  /** Produces raw messages to the test's itsm.requests topic. */
  produceItsm(messages: Array<{ key: string | null; value: string | Buffer | null }>): Promise<void>;
  /** Every message on a topic so far. */
  read(topic: string): Promise<Array<{ key: string | null; value: string; headers: Record<string, string> }>>;
  startWorker(): Promise<ProvisioningWorker>;
  close(): Promise<void>;
};

export const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', name: 'integration' });

/** Test apps serving HTTPS: their certificate and key, and the CA bundle their connectors trust. */
export type PipelineHttps = { certFile: string; keyFile: string; caFile: string };

/** The connector config of a test app, named `name`: its bearer token in a private file the config names. */
export function connectorConfigOf(app: TestScimApp, name: string, https?: PipelineHttps): ConnectorConfig {
  const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'scim-token-')), `${name}.scim-token`);
  writeFileSync(tokenFile, `${app.bearerToken}\n`, { mode: 0o600 });
  const { scimUrl } = appUrls(https ? 'localhost' : '127.0.0.1', app.port, undefined, https ? 'https' : 'http');
  return parseConnectorConfig({
    type: 'scim',
    app: name,
    baseUrl: scimUrl,
    auth: { kind: 'bearer', token: { file: tokenFile } },
    timeoutMs: 5000,
    ...(https ? { tls: { caFile: https.caFile } } : {}),
  });
}

export type PipelineOptions = {
  appNames?: string[];
  policyDir?: string;
  logger?: Logger;
  /** Per app name: how its target app behaves (targets/profiles.ts). */
  behaviours?: Record<string, Behaviour>;
  /** The configuration; default loadConfig() (the plain stack, or what the environment names). */
  config?: Config;
  /** Serve the test apps over HTTPS. */
  https?: PipelineHttps;
  /**
   * Keep the reconciliation schedules the worker creates (default: deleted at once, so an hourly
   * run never lands in another test's audit counts).
   */
  reconcileSchedules?: boolean;
  /** The worker follows the newest policy version applied in the store (seeded from policyDir), as in production. */
  followAppliedPolicy?: boolean;
  /** The process's tracing (observability/tracing/provider.ts) for the worker and the ingress; default off. */
  tracing?: Tracing;
};

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const log = options.logger ?? logger;
  const loaded = options.config ?? loadConfig();
  const base = options.policyDir ? { ...loaded, policy: { ...loaded.policy, dir: options.policyDir } } : loaded;
  const hrLifecycle = uniqueName('hr.lifecycle');
  const outcomes = uniqueName('provisioning.outcomes');
  const itsmRequests = uniqueName('itsm.requests');
  // Its own task queue, in the config too: the API addresses the fence of cfg.temporal.taskQueue.
  const taskQueue = uniqueName('provisioning');
  // Its own store schema and checkpoint file: tests run in parallel and beside a running demo.
  const storeSchema = uniqueName('store').replaceAll('-', '_');
  const cfg: Config = {
    ...base,
    kafka: { ...base.kafka, topics: { ...base.kafka.topics, hrLifecycle, outcomes, itsmRequests } },
    temporal: { ...base.temporal, taskQueue },
    postgres: { ...base.postgres, schema: storeSchema },
    audit: { ...base.audit, checkpointsFile: path.join(mkdtempSync(path.join(tmpdir(), 'audit-')), 'checkpoints.jsonl') },
  };
  await ensureTopics(cfg, [hrLifecycle, `${hrLifecycle}.dlq`, outcomes, itsmRequests, `${itsmRequests}.dlq`]);
  const names = options.appNames ?? ['chat', 'code'];
  const https = options.https;
  const apps = await Promise.all(
    names.map((name) =>
      startTestScimApp({
        name,
        ...(options.behaviours?.[name] ? { behaviour: options.behaviours[name] } : {}),
        ...(https ? { tls: { certFile: https.certFile, keyFile: https.keyFile }, trustCa: readFileSync(https.caFile, 'utf8') } : {}),
      }),
    ),
  );
  const connectorConfigs = apps.map((app, i) => connectorConfigOf(app, names[i]!, https));
  const policy = loadPolicyOrThrow(cfg.policy.dir);
  const store = await openStore(cfg, { migrate: true, createKeys: true, logger: log });
  const startWorker = () => createProvisioningWorker(cfg, log, { taskQueue, connectorConfigs, policy, store, reconcileSchedules: options.reconcileSchedules ?? false, ...(options.followAppliedPolicy ? { followAppliedPolicy: true } : {}), ...(options.tracing ? { tracing: options.tracing } : {}) });
  let worker = await startWorker();
  await ensurePolicyEntitlements(policy, worker.connectors);
  const ingress = await startIngress(cfg, log, { taskQueue, groupId: uniqueName('ingress'), itsm: { store }, ...(options.tracing ? { tracing: options.tracing } : {}) });
  const kafka = createKafka(cfg, { clientId: 'integration-test' });
  const producer = kafka.producer();
  await producer.connect();
  return {
    cfg,
    taskQueue,
    apps,
    connectorConfigs,
    get worker() {
      return worker;
    },
    ingress,
    store,
    async produce(messages) {
      await producer.send({ topic: hrLifecycle, messages });
    },
    async produceItsm(messages) {
      await producer.send({ topic: itsmRequests, messages });
    },
    async read(topic) {
      const messages = await readToEnd(kafka, topic);
      return messages.map(({ message }) => ({
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      }));
    },
    async startWorker() {
      worker = await startWorker();
      return worker;
    },
    async close() {
      await producer.disconnect();
      // Leave no running test workflows behind to clutter the Temporal UI of a developer's demo.
      for await (const wf of ingress.client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
        await ingress.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('integration test finished').catch(() => undefined);
      }
      await ingress.client.schedule.getHandle(grantSweepScheduleId(taskQueue)).delete().catch(() => undefined);
      await deleteReconcileSchedules(ingress.client, taskQueue).catch(() => undefined);
      await ingress.shutdown();
      await worker.shutdown();
      await Promise.all(apps.map((app) => app.close()));
      await store.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
      await store.close();
    },
  };
}

/** Polls until `probe` returns a value (not undefined), or fails with what was awaited. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}
