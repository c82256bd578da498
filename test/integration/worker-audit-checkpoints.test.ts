// The worker's checkpointer, as `provisioner worker` runs it: every checkpoint reaches the
// configured file and the audit topic, and the worker reports its destinations healthy. On the real
// Kafka, Temporal and PostgreSQL, with its own data folder, schema, task queue and audit topic.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { createKafka } from '../../kafka/client.js';
import { readToEnd } from '../../kafka/topic-reader.js';
import { grantSweepScheduleId } from '../../runtime/grant-sweep-schedule.js';
import { createProvisioningWorker, type ProvisioningWorker } from '../../runtime/worker.js';
import { databaseUrl, loadConfig, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { CHECKPOINT_MESSAGE_TYPE, readCheckpoints } from '../../store/audit-checkpoints.js';
import { fileCheckpointSource, kafkaCheckpointSource, verifyAuditChain } from '../../store/audit-verify.js';
import { eventually, logger } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';

const base = loadConfig();
const dataDir = mkdtempSync(path.join(tmpdir(), 'worker-checkpoints-'));
const topic = uniqueName('audit-worker');
const cfg: Config = {
  ...base,
  // Its keys are generated here, not in the checkout.
  dataDir,
  kafka: { ...base.kafka, topics: { ...base.kafka.topics, audit: topic } },
  temporal: { ...base.temporal, taskQueue: uniqueName('provisioning') },
  postgres: { ...base.postgres, schema: uniqueName('store').replaceAll('-', '_') },
  audit: { checkpointsFile: path.join(dataDir, 'elsewhere', 'checkpoints.jsonl'), checkpointTo: ['file', 'kafka'], checkpointIntervalSeconds: 1, checkpointGraceSeconds: 1 },
};
const kafka = createKafka(cfg);
let worker: ProvisioningWorker | undefined;

beforeAll(async () => {
  await ensureTopics(cfg, [topic]);
});
afterAll(async () => {
  await worker?.shutdown();
  const connection = await connectTemporal(cfg);
  await new Client({ connection, namespace: cfg.temporal.namespace }).schedule.getHandle(grantSweepScheduleId(cfg.temporal.taskQueue)).delete().catch(() => undefined);
  await connection.close();
  const db = new pg.Client({ connectionString: databaseUrl(cfg) });
  await db.connect();
  await db.query(`drop schema if exists ${cfg.postgres.schema} cascade`);
  await db.end();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the worker checkpoints the audit chain outside the host', () => {
  it('each checkpoint of the moving head reaches the file and the audit topic, and its destinations are healthy', async () => {
    worker = await createProvisioningWorker(cfg, logger, { connectorConfigs: [] });
    const { store } = worker;
    for (let i = 0; i < 4; i += 1) await store.audit({ actor: { type: 'system', id: 'test' }, action: 'test.appended', reason: `r${i}` });
    const head = Number((await store.pool.query('select seq from audit_head')).rows[0].seq);

    const inFile = await eventually('the head checkpointed in the file', async () => {
      const { checkpoints } = await readCheckpoints(cfg.audit.checkpointsFile, store.keys.verifier);
      return checkpoints.some((c) => c.seq === head) ? checkpoints : undefined;
    }, 20_000);
    const onTopic = await eventually('the head checkpointed on the topic', async () => {
      const messages = (await readToEnd(kafka, topic)).filter(({ message }) => String(message.headers?.['ce-type']) === CHECKPOINT_MESSAGE_TYPE);
      return messages.some(({ message }) => String(message.headers?.seq) === String(head)) ? messages : undefined;
    }, 20_000);
    expect(onTopic.map(({ message }) => JSON.parse(message.value!.toString()).sig)).toEqual(expect.arrayContaining(inFile.filter((c) => c.seq === head).map((c) => c.sig)));
    expect(worker.checkpoints?.healthy()).toBe(true);
    expect(worker.checkpoints?.status().map((d) => d.destination)).toEqual([`file ${cfg.audit.checkpointsFile}`, `kafka ${topic}`]);

    // Both sources vouch for the chain, and none lacks what it should hold.
    const result = await verifyAuditChain(store.pool, {
      verifier: store.keys.verifier,
      checkpointSources: [fileCheckpointSource(cfg.audit.checkpointsFile), kafkaCheckpointSource(kafka, topic)],
      expect: { intervalMs: 1000, graceMs: 1000 },
    });
    expect(result).toMatchObject({ ok: true, head: { seq: head }, lastVerified: { seq: head } });
    expect(result.sources.map((s) => s.missing)).toEqual([[], []]);
  }, 120_000);
});
