// /metrics of a running worker and ingress (in one process here, as `provisioner dev` runs them)
// during a hire whose application fails its first calls, and a poison message: the series are
// there with the expected label sets, and no label carries the person's id, name or e-mail.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../kafka/client.js';
import { consumerLag } from '../../kafka/consumer-lag.js';
import { metrics } from '../../observability/metrics.js';
import { startHealthServer, type HealthServer } from '../../observability/health-server.js';
import { TEMPORAL_SDK_SERIES } from '../../observability/temporal-metrics.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let p: Pipeline;
let health: HealthServer;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'] });
  health = await startHealthServer({ port: 0, name: 'metrics-test', ready: () => ({}) });
});
afterAll(async () => {
  await health?.close();
  await p?.close();
});

const scrape = async (): Promise<string> => {
  const res = await fetch(`http://127.0.0.1:${health.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

/** The value of one series (exact label set, Prometheus text format), or undefined. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${want}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics', () => {
  it('counts steps, connector calls and errors, consumed events and dead letters, with no personal value in any label', async () => {
    const canary = `Canary${randomBytes(4).toString('hex')}`;
    const employeeId = `E${Date.now().toString().slice(-7)}${randomBytes(1).toString('hex')}`.toUpperCase();
    const email = `${canary.toLowerCase()}@example.com`;
    const chat = p.apps[0]!;
    // The application answers 503 with Retry-After: 1 to its next two calls (the plan's reads): retried after the wait, then the hire goes through.
    await chat.admin.setFaults({ failNext: 2, retryAfterSeconds: 1 });
    const hire = hrEvent(employeeId);
    Object.assign(hire.data, { givenName: canary, familyName: canary, email });
    await p.produce([
      { key: employeeId, value: JSON.stringify(hire) },
      // A poison message: dead-lettered with its reason.
      { key: 'poison', value: '{"not": "a cloudevent"' },
    ]);
    const hrTopic = p.cfg.kafka.topics.hrLifecycle;
    const text = await eventually('the hire applied and counted', async () => {
      const t = await scrape();
      return (value(t, 'provisioner_steps_total', { app: 'chat', action: 'ensureAccount', outcome: 'created' }) ?? 0) >= 1 ? t : undefined;
    }, 90_000);

    expect(value(text, 'provisioner_connector_errors_total', { app: 'chat', class: 'TransientError' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'provisioner_connector_call_seconds_count', { app: 'chat', action: 'readAccount', result: 'TransientError' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'provisioner_connector_call_seconds_count', { app: 'chat', action: 'ensureAccount', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'provisioner_retry_after_wait_seconds_bucket', { le: '1', app: 'chat' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'provisioner_events_consumed_total', { topic: hrTopic, disposition: 'handled' })).toBeGreaterThanOrEqual(1);
    // From the hire's own time to its outcome, per event type, application and status.
    const provisioned = await eventually('the outcome recorded', async () => {
      const t = await scrape();
      return (value(t, 'provisioner_time_to_provision_seconds_count', { event_type: 'hr.worker.hired', app: 'chat', status: 'succeeded' }) ?? 0) >= 1 ? t : undefined;
    });
    expect(value(provisioned, 'provisioner_time_to_provision_seconds_bucket', { le: '+Inf', event_type: 'hr.worker.hired', app: 'chat', status: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'provisioner_events_consumed_total', { topic: hrTopic, disposition: 'dead-lettered' })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(new RegExp(`^provisioner_dead_letters_total\\{topic="${hrTopic.replaceAll('.', '\\.')}",reason="[a-z-]+"\\} [1-9]`, 'm'));
    // The ingress committed what it handled: its group is behind on no partition of its topic.
    const lags = await eventually('the group caught up', async () => {
      const found = [...(await scrape()).matchAll(new RegExp(`^provisioner_consumer_lag\\{topic="${hrTopic.replaceAll('.', '\\.')}",partition="\\d+"\\} (\\d+)`, 'gm'))].map((m) => Number(m[1]));
      return found.length === p.cfg.kafka.partitions && found.every((n) => n === 0) ? found : undefined;
    });
    expect(lags).toHaveLength(p.cfg.kafka.partitions);
    // What the store holds now, read at scrape time: nothing held, the hire's grants counted in the fence's window, the chain grown.
    expect(Number(/^provisioner_fence_held_batches (\d+)/m.exec(provisioned)?.[1])).toBe(0);
    expect(Number(/^provisioner_approvals_pending (\d+)/m.exec(provisioned)?.[1])).toBe(0);
    expect(Number(/^provisioner_audit_chain_records (\d+)/m.exec(provisioned)?.[1])).toBeGreaterThan(0);
    expect(value(provisioned, 'provisioner_fence_window_steps', { scope: 'source', name: 'default', action: 'grant' })).toBeGreaterThanOrEqual(1);
    // The process's own series (prom-client's defaults) are there too, and the Temporal SDK's (Core's exporter, appended).
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="[^"]+".*\} \d+/m);
    // Every Temporal series the alert rules and the dashboard use (ops/) is really there.
    for (const h of TEMPORAL_SDK_SERIES.histograms) expect(text).toMatch(new RegExp(`^${h}_bucket\\{`, 'm'));
    for (const g of TEMPORAL_SDK_SERIES.gauges) expect(text).toMatch(new RegExp(`^${g}\\{`, 'm'));

    // No label anywhere holds the person: their id, name or e-mail (any case).
    const labels = text.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' '))).join('\n').toLowerCase();
    for (const secret of [employeeId, canary, email]) expect(labels).not.toContain(secret.toLowerCase());
  });

  it("reads a consumer's lag from the group's offsets at scrape time, so messages nobody takes show as lag", async () => {
    // The outcomes the hire published: a group that never consumed them is behind by each of them.
    const topic = p.cfg.kafka.topics.outcomes;
    const published = (await p.read(topic)).length;
    expect(published).toBeGreaterThan(0);
    const remove = metrics.addLagSource(() => consumerLag(createKafka(p.cfg, { clientId: 'metrics-test' }), `never-consumed-${randomBytes(4).toString('hex')}`, [topic]));
    try {
      const series = new RegExp(`^provisioner_consumer_lag\\{topic="${topic.replaceAll('.', '\\.')}",partition="\\d+"\\} (\\d+)`, 'gm');
      const behind = [...(await scrape()).matchAll(series)].map((m) => Number(m[1]));
      expect(behind).toHaveLength(p.cfg.kafka.partitions);
      expect(behind.reduce((a, b) => a + b, 0)).toBe(published);
      remove();
      expect([...(await scrape()).matchAll(series)]).toHaveLength(0);
    } finally {
      remove();
    }
  });
});
