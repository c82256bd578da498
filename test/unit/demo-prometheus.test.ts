// The demo says where to query the local Prometheus when it has one, and how to have one when not.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoPrometheusLines } from '../../cli/commands/demo-prometheus.js';
import { loadConfig } from '../../schemas/config.js';

describe("the demo's Prometheus lines", () => {
  it('say how to get it when it is neither set nor running, and where to query it when it is set', () => {
    const cfg = loadConfig({ env: {}, root: mkdtempSync(path.join(tmpdir(), 'demo-prom-')) });
    expect(demoPrometheusLines(cfg)).toEqual([expect.stringContaining('`npx provisioner stack up prometheus` builds it once (about 9 minutes) and starts it')]);
    const lines = demoPrometheusLines({ ...cfg, stack: { ...cfg.stack, prometheus: true, prometheusPort: 9191 } });
    expect(lines[0]).toMatch(/^Prometheus http:\/\/127\.0\.0\.1:9191 scrapes provisioner dev/);
    expect(lines.join('\n')).toContain("curl -s http://127.0.0.1:9191/api/v1/query --data-urlencode 'query=histogram_quantile(0.99, sum by (le, event_type) (rate(provisioner_time_to_provision_seconds_bucket[15m])))'");
  });
});
