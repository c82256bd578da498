// The floors the bench compares our figures to, measured in the same run on the same stack:
// the bare Temporal workflow, the raw kafkajs consume rate and a SCIM app's direct write capacity.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createKafka } from '../../kafka/client.js';
import { ensureTopics } from '../../stack/kafka.js';
import type { Config } from '../../schemas/config.js';
import { startScimApp } from '../../targets/server.js';
import { createLogger } from '../../observability/logger.js';
import type { NoopInput } from '../fixtures/noop-workflow.js';
import { appTaskQueue } from '../../workflows/task-queues.js';
import { connectTemporal, connectTemporalNative } from '../../clients/temporal-connection.js';

const silent = createLogger({ level: 'silent', name: 'bench' });

function fixturePath(): string {
  const js = fileURLToPath(new URL('../fixtures/noop-workflow.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../fixtures/noop-workflow.ts', import.meta.url));
}

/**
 * Starts `count` bare workflows as fast as the client can (64 in flight) and waits for all:
 * workflows/s from the first start to the last close. Worker settings as ours: maxCachedWorkflows
 * 1000, per-app queues with the same server-side rate limit and 20 concurrent activities.
 */
export async function bareTemporalFloor(cfg: Config, options: { taskQueue: string; count: number; input: NoopInput; appRps: number }) {
  const connection = await connectTemporalNative(cfg);
  const noop = { noop: async () => undefined };
  const base = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: fixturePath(),
    activities: noop,
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '20 seconds',
  });
  const apps = await Promise.all(
    options.input.apps.map((app) =>
      Worker.create({
        connection,
        namespace: cfg.temporal.namespace,
        taskQueue: appTaskQueue(options.taskQueue, app),
        activities: noop,
        maxTaskQueueActivitiesPerSecond: options.appRps,
        maxConcurrentActivityTaskExecutions: 20,
        shutdownGraceTime: '20 seconds',
      }),
    ),
  );
  const running = Promise.all([base.run(), ...apps.map((w) => w.run())]);
  const clientConnection = await connectTemporal(cfg);
  const client = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
  const started = performance.now();
  const handles: Array<Promise<unknown>> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < options.count) {
        const i = next++;
        const handle = await client.workflow.start('noopProvisioning', { taskQueue: options.taskQueue, workflowId: `bench-floor/${options.taskQueue}/${i}`, args: [options.input] });
        handles.push(handle.result());
      }
    }),
  );
  await Promise.all(handles);
  const seconds = (performance.now() - started) / 1000;
  const historyLength = (await client.workflow.getHandle(`bench-floor/${options.taskQueue}/0`).fetchHistory()).events?.length ?? 0;
  base.shutdown();
  apps.forEach((w) => w.shutdown());
  await running;
  await clientConnection.close();
  await connection.close();
  return { workflows: options.count, seconds: round(seconds), workflowsPerSecond: round(options.count / seconds), historyEventsPerWorkflow: historyLength };
}

/** Produces `count` joiner-sized messages, then consumes them from the start with kafkajs eachBatch. */
export async function kafkaConsumeFloor(cfg: Config, options: { topic: string; count: number; sample: string }) {
  await ensureTopics(cfg, [options.topic]);
  const kafka = createKafka(cfg, { clientId: 'bench-floor' });
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < options.count; i += 1000) {
    const n = Math.min(1000, options.count - i);
    await producer.send({ topic: options.topic, messages: Array.from({ length: n }, (_, j) => ({ key: `E${i + j}`, value: options.sample })) });
  }
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `bench-floor-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        seen += batch.messages.length;
        for (const m of batch.messages) JSON.parse(m.value!.toString()); // the ingress parses every value too
        if (seen >= options.count) resolve(performance.now());
      },
    });
  });
  const last = await done;
  await consumer.disconnect();
  const seconds = (last - first) / 1000;
  return { messages: options.count, seconds: round(seconds), messagesPerSecond: Math.round(options.count / seconds) };
}

/** Direct POST /Users to a fresh in-process app (16 in flight) for `seconds`: users created per second. */
export async function scimCapacityFloor(options: { seconds: number; concurrency?: number }) {
  const token = `bench-${randomBytes(8).toString('hex')}`;
  const app = await startScimApp({ name: 'capacity', port: 0, host: '127.0.0.1', bearerTokens: [token], adminToken: token, logger: silent });
  let n = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency ?? 16 }, async () => {
      while (performance.now() < deadline) {
        const i = n++;
        const res = await fetch(`${app.scimUrl}/Users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `cap${i}@example.com`, externalId: `C${i}`, emails: [{ value: `cap${i}@example.com`, primary: true }] }),
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`capacity POST /Users: ${res.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await app.close();
  return { writes: n, seconds: round(seconds), writesPerSecond: Math.round(n / seconds) };
}

const round = (v: number) => Math.round(v * 100) / 100;
