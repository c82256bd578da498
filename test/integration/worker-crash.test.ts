// The worker process is killed (SIGKILL) in the middle of a change and restarted: the change
// completes with no duplicate account and no missing grant. The worker runs as the real
// `provisioner worker` process (dist/, built by `npm test`'s setup).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dataConverter } from '../../codec/data-converter.js';
import { createKafka } from '../../kafka/client.js';
import { planIdentity } from '../../policy/planner.js';
import type { Identity } from '../../policy/identity.js';
import { startIngress, type Ingress } from '../../runtime/ingress.js';
import { ensurePolicyEntitlements } from '../../activities/entitlement-sync.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { loadConfig, projectRoot, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { connectorConfigOf, eventually, logger } from '../helpers/pipeline.js';
import { ensureTargetsBuilt, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { freePort } from '../../stack/processes.js';
import { uniqueName } from '../helpers/unique.js';
import { connectTemporal } from '../../clients/temporal-connection.js';

let cfg: Config;
let apps: TestScimApp[];
let ingress: Ingress;
let client: Client;
let configFile: string;
let env: NodeJS.ProcessEnv;
let worker: ChildProcess | undefined;

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'provisioner.js'), 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

beforeAll(async () => {
  ensureTargetsBuilt();
  const base = loadConfig();
  const hrLifecycle = uniqueName('hr.lifecycle');
  const policyDir = writeTestPolicy();
  const dir = mkdtempSync(path.join(tmpdir(), 'worker-crash-'));
  apps = await Promise.all(['chat', 'code'].map((name) => startTestScimApp({ name })));
  // How the worker process reaches the apps: tokens by reference (files), as in production.
  const connectorConfigs = apps.map((a, i) => connectorConfigOf(a, ['chat', 'code'][i]!));
  const connectorsFile = path.join(dir, 'connectors.yaml');
  writeFileSync(connectorsFile, stringify({ connectors: connectorConfigs }));
  cfg = {
    ...base,
    kafka: { ...base.kafka, topics: { ...base.kafka.topics, hrLifecycle } },
    temporal: { ...base.temporal, taskQueue: uniqueName('provisioning') },
    connectors: { file: connectorsFile },
    policy: { ...base.policy, dir: policyDir },
    http: { ...base.http, workerPort: await freePort() },
  };
  await ensureTopics(cfg, [hrLifecycle, `${hrLifecycle}.dlq`]);
  configFile = path.join(dir, 'provisioner.yaml');
  writeFileSync(configFile, stringify(cfg));
  // The environment carries where the servers are (as in the parent) plus this test's isolation.
  env = { ...process.env, PROVISIONER_CONFIG: configFile, PROVISIONER_STORE_SCHEMA: uniqueName('store').replaceAll('-', '_'), PROVISIONER_AUDIT_CHECKPOINTS: path.join(dir, 'checkpoints.jsonl'), LOG_LEVEL: 'warn' };
  const policy = loadPolicyOrThrow(policyDir);
  const { connectors } = connectorsForPolicy(cfg, policy, connectorConfigs, logger);
  await ensurePolicyEntitlements(policy, connectors);
  for (const c of connectors.values()) await c.close?.();
  ingress = await startIngress(cfg, logger, { taskQueue: cfg.temporal.taskQueue, groupId: uniqueName('ingress'), itsm: false });
  const connection = await connectTemporal(cfg);
  client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir) });
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  for await (const wf of client.workflow.list({ query: `TaskQueue="${cfg.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
    await client.workflow.getHandle(wf.workflowId).terminate('test finished').catch(() => undefined);
  }
  await ingress?.shutdown();
  await Promise.all(apps.map((a) => a.close()));
});

describe('a worker killed in the middle of a change', () => {
  it('after a SIGKILL and a restart, the change completes with no duplicate account and no missing grant', async () => {
    worker = startWorkerProcess();
    const id = uniqueName('K').replaceAll('.', '');
    const event = hrEvent(id);
    // Slow apps, so the kill lands while the change is under way.
    for (const app of apps) await app.admin.setFaults({ latencyMs: 700 });
    const producer = createKafka(cfg).producer();
    await producer.connect();
    await producer.send({ topic: cfg.kafka.topics.hrLifecycle, messages: [{ key: id, value: JSON.stringify(event) }] });
    await producer.disconnect();
    await eventually('the first write of the change', async () => ((await apps[0]!.admin.writes()).some((w) => w.externalId === id) ? true : undefined), 60_000);
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    for (const app of apps) await app.admin.clearFaults();
    worker = startWorkerProcess();

    const handle = client.workflow.getHandle(identityWorkflowId(id));
    const state = await eventually('the change completed after the restart', async () => {
      const s = await handle.query(getState).catch(() => undefined);
      return s && s.lastAppliedSequence === 1 && s.status === 'provisioned' ? s : undefined;
    }, 90_000);
    const { plan } = planIdentity(loadPolicyOrThrow(cfg.policy.dir), { identity: event.data as Identity, actual: [], now: new Date().toISOString() });
    for (const [i, app] of apps.entries()) {
      const name = ['chat', 'code'][i]!;
      const users = (await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${id}"`)}`)).body.Resources;
      expect(users).toHaveLength(1);
      expect((await app.admin.writes()).filter((w) => w.externalId === id && w.operation === 'create')).toHaveLength(1);
      const wanted = plan.steps.filter((s) => s.app === name && s.action === 'grant' && !(s.approvals?.length ?? 0)).map((s) => s.entitlementId).sort();
      const groups = (await app.scim('GET', '/Groups?count=1000')).body.Resources.filter((g: { members?: Array<{ value: string }> }) => g.members?.some((m) => m.value === users[0].id)).map((g: { displayName: string }) => g.displayName).sort();
      expect(groups).toEqual(wanted);
    }
    expect(Object.keys(state.accounts)).toEqual(expect.arrayContaining(['chat', 'code']));
  });
});
