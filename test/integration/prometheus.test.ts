// The local stack's Prometheus (stack/prometheus.ts), the real server built from its Go module:
// started on a data folder and port of its own, it finds a process's /metrics through the target
// file the process registers, scrapes a provisioner series from it, and has loaded the repository's
// alert rules. The first run builds Prometheus (about 9 minutes on two cores, beside the other
// files); it is cached in ~/.cache/provisioner/bin like the Temporal CLI and reused afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startHealthServer, type HealthServer } from '../../observability/health-server.js';
import { createMetrics } from '../../observability/metrics.js';
import { instantQuery, prometheusApi, rulesData } from '../../observability/prometheus-query.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { ALERT_RULES_FILE } from '../../stack/prometheus-config.js';
import { registerScrapeTarget } from '../../stack/prometheus-targets.js';
import { obtainPrometheus, prometheusDown, prometheusStatus, prometheusUp, prometheusUrl } from '../../stack/prometheus.js';
import { freePort } from '../../stack/processes.js';
import { eventually } from '../helpers/pipeline.js';
import { queryKeySeries } from '../../stack/prometheus-key-series.js';

const BUILD_MS = 25 * 60_000;
let cfg: Config;
let health: HealthServer;
let unregister: () => void;
const lines: string[] = [];
const report = (line: string) => {
  lines.push(line);
  process.stderr.write(`[prometheus test] ${line}\n`);
};
// Letters only: a label value with three digits in a row is `other` (observability/metrics.ts).
const app = `promtest${randomBytes(6).toString('hex').replaceAll(/\d/g, 'x')}`;

beforeAll(async () => {
  const loaded = loadConfig();
  cfg = { ...loaded, dataDir: mkdtempSync(path.join(tmpdir(), 'prometheus-it-')), stack: { ...loaded.stack, prometheusPort: await freePort() } };
  await obtainPrometheus(cfg, report);
  // A process's registry, served as every provisioner process serves it, with one series of this test.
  const metrics = createMetrics();
  metrics.steps.inc({ app, action: 'ensureAccount', outcome: 'created' }, 3);
  health = await startHealthServer({ port: 0, name: 'prometheus-test', ready: () => ({}), registry: metrics.registry });
  unregister = registerScrapeTarget(cfg.dataDir, { processName: 'prometheus-test', host: '127.0.0.1', port: health.port });
  await prometheusUp(cfg, report);
}, BUILD_MS);

afterAll(async () => {
  unregister?.();
  await health?.close();
  if (cfg) await prometheusDown(cfg);
});

describe('the local Prometheus', () => {
  it("scrapes a registered process's /metrics and answers a provisioner series through its HTTP API", async () => {
    const series = await eventually('the series scraped', async () => {
      const found = await instantQuery(prometheusUrl(cfg), `provisioner_steps_total{app="${app}"}`);
      return found.length > 0 ? found : undefined;
    }, 60_000);
    expect(series).toEqual([
      {
        labels: { __name__: 'provisioner_steps_total', app, action: 'ensureAccount', outcome: 'created', job: 'provisioner', process: 'prometheus-test', instance: `127.0.0.1:${health.port}` },
        value: 3,
      },
    ]);
    expect(await instantQuery(prometheusUrl(cfg), `up{instance="127.0.0.1:${health.port}"}`)).toMatchObject([{ value: 1 }]);
  });

  it("answers every query of the bench's key series report for the target", async () => {
    const instance = `127.0.0.1:${health.port}`;
    // A rate needs two samples, and the peak's 15 s rate two within one subquery step: a few more scrapes.
    const report = await eventually('two samples of the counter', async () => {
      const r = await queryKeySeries(prometheusUrl(cfg), { instance, start: new Date(Date.now() - 30_000), end: new Date() });
      return typeof r.stepsPerSecond.created?.peak === 'number' ? r : undefined;
    }, 30_000);
    // The test's counter stood still at 3 while scraped: no steps per second; no histogram, lag or fence series were served.
    expect(report.stepsPerSecond).toEqual({ created: { mean: 0, peak: 0 } });
    expect(report.timeToProvisionSeconds).toEqual({});
    expect(report.consumerLag).toEqual({ peak: null, atEnd: null });
    expect(report.fence).toEqual({ heldBatchesPeak: null, permits: {} });
  });

  it("has loaded every alert rule of the repository's rules file", async () => {
    const file = parse(readFileSync(ALERT_RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string }> }> };
    const { groups } = await prometheusApi(prometheusUrl(cfg), 'rules', {}, rulesData);
    expect(groups.map((g) => g.file)).toEqual(groups.map(() => ALERT_RULES_FILE));
    const loaded = groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.name}`)).sort();
    expect(loaded).toEqual(file.groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.alert ?? r.record}`)).sort());
    expect(groups.flatMap((g) => g.rules).every((r) => r.health !== 'err')).toBe(true);
  });

  it('is reused by a second `stack up`, shows in `stack status`, and stops by its PID', async () => {
    await prometheusUp(cfg, report);
    expect(lines.at(-1)).toBe(`prometheus: reusing the healthy server at ${prometheusUrl(cfg)}`);
    const status = await prometheusStatus(cfg);
    expect(status).toMatchObject({ name: 'prometheus', managed: true, healthy: true });
    expect(status.pid).toBeGreaterThan(0);
    expect(await prometheusDown(cfg)).toBe(true);
    expect(await prometheusStatus(cfg)).toMatchObject({ healthy: false, pid: undefined });
  });
});
