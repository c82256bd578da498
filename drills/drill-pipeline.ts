// A drill's own pipeline on the stack's servers: its topics, task queue, consumer group, store
// schema, data folder and SCIM applications, so a drill never touches real people. The worker and
// ingress processes are the real `provisioner worker | ingress` processes (two of each, as a
// production deployment runs them), each with its own health port, so a scenario can SIGKILL them.
// A scenario that asks for a directory gets an LDAP application too, in its own subtree of the
// directory its base configuration's `ldap` names (e.g. a slapd the drill owns).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { ensurePolicyEntitlements } from '../activities/entitlement-sync.js';
import { connectTemporal } from '../clients/temporal-connection.js';
import { loadKeyring } from '../codec/keyring.js';
import { dataConverter } from '../codec/data-converter.js';
import { parseConnectorConfig } from '../connectors/config.js';
import { createKafka } from '../kafka/client.js';
import type { Logger } from '../observability/logger.js';
import { connectorsForPolicy } from '../runtime/connectors.js';
import { loadPolicyOrThrow } from '../runtime/worker.js';
import { databaseUrl, projectRoot, type Config } from '../schemas/config.js';
import { ensureTopics } from '../stack/kafka.js';
import { seedDirectory } from '../stack/slapd.js';
import { freePort } from '../stack/processes.js';
import { openStore, type Store } from '../store/index.js';
import { appUrls } from '../targets/apps-file.js';
import { behaviourOf, type Behaviour } from '../targets/profiles.js';
import { startScimApp, type ScimApp } from '../targets/server.js';
import type { AppView } from './app-view.js';
import { directoryView, drillSubtree } from './directory-view.js';
import { DRILL_APPS, DRILL_DIRECTORY_APP, writeDrillPolicy, type DrillQuarantine } from './drill-policy.js';

export type DrillApp = { name: string; app: ScimApp; scimUrl: string; token: string };

/** The pipeline's LDAP application (`directory`): its id and the oracle's view of it. */
export type DrillDirectory = { app: string; view(): Promise<AppView> };

export type DrillProcess = {
  role: 'worker' | 'ingress';
  index: number;
  healthPort: number;
  child: ChildProcess | undefined;
  /** SIGKILLs, each with its time (ms since the epoch). */
  kills: number[];
};

export type DrillPipeline = {
  id: string;
  cfg: Config;
  runDir: string;
  apps: DrillApp[];
  /** Present when the scenario asked for a directory application. */
  directory?: DrillDirectory;
  store: Store;
  client: Client;
  processes: DrillProcess[];
  start(p: DrillProcess): void;
  /** SIGKILL, no drain: the process's in-flight work is lost as a crash loses it. */
  kill(p: DrillProcess): Promise<void>;
  close(): Promise<void>;
};

/** Settings of the drill apps' connector config (connectors/config.ts), beside the drill's own (e.g. a cut Retry-After). */
export type DrillConnectorSettings = { maxRetryAfterSeconds?: number };

export async function startDrillPipeline(base: Config, logger: Logger, options: { scenario: string; workers?: number; ingresses?: number; fence?: 'sized-to-workload' | 'example'; quarantine?: DrillQuarantine; appBehaviour?: Partial<Behaviour>; connector?: DrillConnectorSettings; directory?: boolean }): Promise<DrillPipeline> {
  const id = `${options.scenario}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const runDir = path.join(base.dataDir, 'drills', id);
  mkdirSync(path.join(runDir, 'logs'), { recursive: true });
  const name = (what: string) => `drill-${id}-${what}`;
  const token = randomBytes(18).toString('hex');
  const apps = await Promise.all(
    DRILL_APPS.map(async (app) => {
      const started = await startScimApp({ name: app, port: 0, host: '127.0.0.1', bearerTokens: [token], adminToken: token, logger, ...(options.appBehaviour ? { behaviour: behaviourOf('standard', options.appBehaviour) } : {}) });
      return { name: app, app: started, scimUrl: appUrls('127.0.0.1', started.port).scimUrl, token };
    }),
  );
  const tokenFile = path.join(runDir, 'scim-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const connectors = apps.map((a) => ({ type: 'scim', app: a.name, baseUrl: a.scimUrl, auth: { kind: 'bearer', token: { file: tokenFile } }, timeoutMs: 5000, ...options.connector }));
  const connectorsFile = path.join(runDir, 'connectors.yaml');
  writeFileSync(connectorsFile, stringify({ connectors }));
  const hrLifecycle = name('hr.lifecycle');
  const cfg: Config = {
    ...base,
    dataDir: runDir,
    kafka: {
      ...base.kafka,
      clientId: name('client'),
      topics: { ...base.kafka.topics, hrLifecycle, itsmRequests: name('itsm.requests'), outcomes: name('outcomes'), audit: name('audit') },
      groups: { hrIngress: name('ingress'), itsmIngress: name('ingress-itsm'), dlqRedrive: name('dlq-redrive') },
    },
    temporal: { ...base.temporal, taskQueue: name('provisioning') },
    postgres: { ...base.postgres, schema: name('store').replaceAll(/[-.]/g, '_') },
    policy: { ...base.policy, dir: writeDrillPolicy({ fence: options.fence ?? 'sized-to-workload', quarantine: options.quarantine, directory: options.directory }) },
    ...(options.directory ? { ldap: { ...base.ldap, ous: drillSubtree(id), manageOus: ['people', 'groups', 'disabled'] } } : {}),
    connectors: { file: connectorsFile },
    audit: { ...base.audit, checkpointsFile: path.join(runDir, 'checkpoints.jsonl') },
  };
  const topics = [hrLifecycle, `${hrLifecycle}.dlq`, cfg.kafka.topics.itsmRequests, `${cfg.kafka.topics.itsmRequests}.dlq`, cfg.kafka.topics.outcomes, cfg.kafka.topics.audit];
  await ensureTopics(cfg, topics);
  // Keys and tables first, once: the processes then share them instead of racing to create them.
  loadKeyring({ dataDir: runDir, mode: cfg.mode });
  const store = await openStore(cfg, { migrate: true, createKeys: true, logger });
  // The drill's subtree (its parent OU first), then its groups below, as `stack up` and `entitlements sync` make them.
  if (options.directory) await seedDirectory(cfg);
  const policy = loadPolicyOrThrow(cfg.policy.dir);
  const { connectors: built } = connectorsForPolicy(cfg, policy, connectors.map((c) => parseConnectorConfig(c)), logger);
  await ensurePolicyEntitlements(policy, built);
  for (const c of built.values()) await c.close?.();
  const client = new Client({ connection: await connectTemporal(cfg), namespace: cfg.temporal.namespace, dataConverter: dataConverter(runDir, cfg.mode) });

  const processes: DrillProcess[] = [];
  for (const [role, count] of [['worker', options.workers ?? 2], ['ingress', options.ingresses ?? 2]] as const) {
    for (let index = 0; index < count; index += 1) processes.push({ role, index, healthPort: await freePort(), child: undefined, kills: [] });
  }
  const configFile = (p: DrillProcess) => path.join(runDir, `${p.role}-${p.index}.yaml`);
  for (const p of processes) {
    const http = p.role === 'worker' ? { ...cfg.http, workerPort: p.healthPort } : { ...cfg.http, ingressPort: p.healthPort };
    // Owner-only: it can hold the drill's directory bind password.
    writeFileSync(configFile(p), stringify({ ...cfg, http }), { mode: 0o600 });
  }
  // The pipeline's directory, over an inherited LDAP_URL or bind password.
  const directoryEnv = options.directory ? { LDAP_URL: cfg.ldap.url, ...(cfg.ldap.bindPassword ? { LDAP_BIND_PASSWORD: cfg.ldap.bindPassword } : {}) } : {};
  const start = (p: DrillProcess): void => {
    const log = createWriteStream(path.join(runDir, 'logs', `${p.role}-${p.index}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'provisioner.js'), p.role], {
      // The pipeline's servers (a scenario may run on its own brokers, Temporal or PostgreSQL): an
      // inherited KAFKA_BROKERS, TEMPORAL_ADDRESS or DATABASE_URL would override the file's.
      env: { ...process.env, KAFKA_BROKERS: cfg.kafka.brokers.join(','), TEMPORAL_ADDRESS: cfg.temporal.address, DATABASE_URL: databaseUrl(cfg), PROVISIONER_CONFIG: configFile(p), PROVISIONER_STORE_SCHEMA: cfg.postgres.schema, PROVISIONER_AUDIT_CHECKPOINTS: cfg.audit.checkpointsFile, LOG_LEVEL: 'warn', ...directoryEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    p.child = child;
  };
  const kill = async (p: DrillProcess): Promise<void> => {
    const child = p.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    p.kills.push(Date.now());
    await exited;
    p.child = undefined;
  };
  const stopAll = () =>
    Promise.all(
      processes.map(async (p) => {
        const child = p.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(20_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }),
    );
  for (const p of processes) start(p);
  try {
    await Promise.all(processes.map((p) => waitReady(p)));
  } catch (err) {
    // The processes that did start would outlive the drill.
    await stopAll();
    await client.connection.close();
    await store.close();
    await Promise.all(apps.map((a) => a.app.close()));
    throw err;
  }
  return {
    id,
    cfg,
    runDir,
    apps,
    ...(options.directory ? { directory: { app: DRILL_DIRECTORY_APP, view: () => directoryView(cfg, DRILL_DIRECTORY_APP, logger) } } : {}),
    store,
    client,
    processes,
    start,
    kill,
    async close() {
      await stopAll();
      for await (const wf of client.workflow.list({ query: `TaskQueue="${cfg.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
        await client.workflow.getHandle(wf.workflowId).terminate('drill finished').catch(() => undefined);
      }
      await client.connection.close();
      await store.close();
      await Promise.all(apps.map((a) => a.app.close()));
      // The drill's topics go with it (the report keeps what they showed): every drill adds six
      // topics, and a broker's start-up and metadata slow down with each one it keeps.
      const admin = createKafka(cfg, { clientId: `${id}-cleanup`, retries: 2 }).admin();
      await admin.connect().then(() => admin.deleteTopics({ topics, timeout: 10_000 })).catch((err: unknown) => logger.warn({ err, topics }, 'drill: could not delete its topics'));
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** Waits for a process's /ready (its consumers in the group, or its worker polling). */
export async function waitReady(p: DrillProcess, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = await fetch(`http://127.0.0.1:${p.healthPort}/ready`).then((r) => r.ok).catch(() => false);
    if (ready) return;
    if (p.child && p.child.exitCode !== null) throw new Error(`drill ${p.role} ${p.index} exited with ${p.child.exitCode} before it was ready`);
    await sleep(250);
  }
  throw new Error(`drill ${p.role} ${p.index} not ready after ${timeoutMs} ms (port ${p.healthPort})`);
}
