// The demo starts Prometheus with the stack only when it needs no build, and says either where to query it or how to get it.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoPrometheusLines, demoStackConfig } from '../../cli/commands/demo-prometheus.js';
import { loadConfig, type Config } from '../../schemas/config.js';

const PATH = process.env.PATH;
afterEach(() => {
  process.env.PATH = PATH;
});

function config(): Config {
  const root = mkdtempSync(path.join(tmpdir(), 'demo-prom-'));
  return loadConfig({ env: { PROVISIONER_CACHE: path.join(root, 'cache') }, root });
}

describe("the demo's Prometheus", () => {
  it('is started with the stack when its build is cached, and not built by the demo otherwise', () => {
    // A PATH without a `prometheus` of this machine's.
    process.env.PATH = '/usr/bin:/bin';
    const cfg = config();
    expect(demoStackConfig(cfg).stack.prometheus).toBe(false);
    const bin = path.join(cfg.cacheDir, 'bin', `prometheus-${cfg.stack.prometheusVersion}`);
    mkdirSync(path.dirname(bin), { recursive: true });
    writeFileSync(bin, '', { mode: 0o755 });
    expect(demoStackConfig(cfg).stack.prometheus).toBe(true);
  });

  it('says how to get it when it does not run, and where to query it when it does', () => {
    const cfg = config();
    expect(demoPrometheusLines(cfg)).toEqual([expect.stringContaining('`npx provisioner stack up prometheus` builds and starts it once')]);
    const lines = demoPrometheusLines({ ...cfg, stack: { ...cfg.stack, prometheus: true, prometheusPort: 9191 } });
    expect(lines[0]).toMatch(/^Prometheus http:\/\/127\.0\.0\.1:9191 scrapes provisioner dev/);
    expect(lines.join('\n')).toContain("curl -s http://127.0.0.1:9191/api/v1/query --data-urlencode 'query=histogram_quantile(0.99, sum by (le, event_type) (rate(provisioner_time_to_provision_seconds_bucket[15m])))'");
  });
});
