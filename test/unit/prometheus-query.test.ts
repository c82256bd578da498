// Prometheus HTTP API answers (the shapes of https://prometheus.io/docs/prometheus/latest/querying/api/,
// as the local Prometheus answered them) checked by zod, and the bench's key series queries.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../observability/metrics.js';
import { flagsData, parseAnswer, PrometheusQueryError, rulesData, vectorResult } from '../../observability/prometheus-query.js';
import { formatKeySeries, keySeriesQueries, type KeySeriesReport } from '../../stack/prometheus-key-series.js';

const vector = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'vector',
    result: [
      { metric: { outcome: 'created' }, value: [1764738000.123, '2.5'] },
      { metric: { outcome: 'error' }, value: [1764738000.123, 'NaN'] },
    ],
  },
});

describe('Prometheus API answers', () => {
  it('parses a vector, its sample values as numbers (NaN included)', () => {
    const data = parseAnswer('query', 200, vector, vectorResult);
    expect(data.result[0]).toEqual({ metric: { outcome: 'created' }, value: { time: 1764738000.123, value: 2.5 } });
    expect(data.result[1]!.value.value).toBeNaN();
  });

  it('turns an error answer into one line with its type and message', () => {
    const body = JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:5: parse error' });
    expect(() => parseAnswer('query', 400, body, vectorResult)).toThrow(new PrometheusQueryError('prometheus query: bad_data: invalid parameter "query": 1:5: parse error'));
  });

  it('refuses what is not an API answer, or data of another shape', () => {
    expect(() => parseAnswer('query', 502, '<html>bad gateway</html>', vectorResult)).toThrow(/HTTP 502, not JSON/);
    expect(() => parseAnswer('query', 200, '{"hello":1}', vectorResult)).toThrow(/not an API answer/);
    const matrix = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } });
    expect(() => parseAnswer('query', 200, matrix, vectorResult)).toThrow(/unexpected data/);
  });

  it('parses rules and flags', () => {
    const rules = JSON.stringify({ status: 'success', data: { groups: [{ name: 'provisioner-fence', file: '/x/provisioner-alerts.yml', interval: 5, rules: [{ name: 'ProvisionerFenceHeld', type: 'alerting', health: 'ok', state: 'inactive', query: 'x' }] }] } });
    expect(parseAnswer('rules', 200, rules, rulesData).groups[0]!.rules[0]!.name).toBe('ProvisionerFenceHeld');
    expect(parseAnswer('status/flags', 200, JSON.stringify({ status: 'success', data: { 'config.file': '/d/prometheus.yml' } }), flagsData)).toEqual({ 'config.file': '/d/prometheus.yml' });
  });
});

describe("the bench's key series", () => {
  it('queries series the processes export, for the bench target only, over the run', () => {
    const queries = keySeriesQueries('127.0.0.1:4321', 90);
    const exported = new Set(createMetrics().registry.getMetricsAsArray().map((m) => m.name));
    for (const q of Object.values(queries)) {
      expect(q).toContain('{instance="127.0.0.1:4321"}');
      const names = [...q.matchAll(/(provisioner_[a-z_]+?)(?:_bucket|_count)?\{/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      // The fence's held batches are the worker's store gauge (runtime/store-metrics.ts), not a process metric.
      for (const n of names) if (n !== 'provisioner_fence_held_batches') expect(exported).toContain(n);
    }
    expect(queries.provisionP99).toBe('histogram_quantile(0.99, sum by (le, event_type) (increase(provisioner_time_to_provision_seconds_bucket{instance="127.0.0.1:4321"}[90s])))');
    expect(queries.lagPeak).toBe('max_over_time((sum(provisioner_consumer_lag{instance="127.0.0.1:4321"}))[90s:5s])');
  });

  it('prints each figure, n/a where Prometheus had none', () => {
    const report: KeySeriesReport = {
      prometheus: 'http://127.0.0.1:9090',
      instance: '127.0.0.1:4321',
      rangeSeconds: 90,
      timeToProvisionSeconds: { 'hr.worker.hired': { p50: 1.4, p99: 4.8, count: 600 } },
      stepsPerSecond: { created: { mean: 12.5, peak: 40 }, applied: { mean: 30, peak: null } },
      consumerLag: { peak: 180, atEnd: 0 },
      fence: { heldBatchesPeak: 0, permits: {} },
      queries: keySeriesQueries('127.0.0.1:4321', 90),
    };
    expect(formatKeySeries(report).slice(1)).toEqual([
      '  time to provision   hr.worker.hired: p50 1.4 s, p99 4.8 s (600 outcomes)',
      '  steps per second    applied 30/s (peak n/a), created 12.5/s (peak 40/s) (mean over the run)',
      '  consumer lag        peak 180, at the end 0 messages',
      '  fence               held batches at most 0; permits none asked',
    ]);
  });
});
