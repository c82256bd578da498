// The demo's metrics line reads a real exposition's shape: steps by outcome, time to provision per event type.
import { describe, expect, it } from 'vitest';
import { metricsSummary, parseMetrics } from '../../cli/commands/demo-metrics.js';
import { emittedNow } from '../../cli/commands/demo.js';

const text = `# HELP provisioner_steps_total Provisioning step attempts
# TYPE provisioner_steps_total counter
provisioner_steps_total{app="chat",action="ensureAccount",outcome="created"} 3
provisioner_steps_total{app="code",action="ensureAccount",outcome="created"} 2
provisioner_steps_total{app="chat",action="grant",outcome="applied"} 7
provisioner_steps_total{app="chat",action="ensureAccount",outcome="error"} 1
provisioner_time_to_provision_seconds_bucket{le="+Inf",event_type="hr.worker.hired",app="chat",status="succeeded"} 2
provisioner_time_to_provision_seconds_sum{event_type="hr.worker.hired",app="chat",status="succeeded"} 5
provisioner_time_to_provision_seconds_count{event_type="hr.worker.hired",app="chat",status="succeeded"} 2
provisioner_time_to_provision_seconds_sum{event_type="hr.worker.hired",app="code",status="succeeded"} 3
provisioner_time_to_provision_seconds_count{event_type="hr.worker.hired",app="code",status="succeeded"} 2
process_cpu_user_seconds_total 0.5
`;

describe('the demo metrics line', () => {
  it('parses samples with and without labels', () => {
    const series = parseMetrics(text);
    expect(series).toHaveLength(10);
    expect(series[0]).toEqual({ name: 'provisioner_steps_total', labels: { app: 'chat', action: 'ensureAccount', outcome: 'created' }, value: 3 });
    expect(series.at(-1)).toEqual({ name: 'process_cpu_user_seconds_total', labels: {}, value: 0.5 });
  });

  it('sums steps by outcome and averages time to provision per event type', () => {
    expect(metricsSummary(parseMetrics(text))).toEqual(['13 step attempts (applied 7, created 5, error 1)', 'time to provision hr.worker.hired: mean 2.0 s over 4 (change, application) pairs']);
  });
});

describe('the demo publishes its hires as emitted now', () => {
  it("stamps each event's time and keeps its id, effective date and the file's comments", () => {
    const file = ['// hires', '{"id":"hris-E1-2","time":"2026-11-22T08:00:00Z","data":{"effectiveAt":"2026-11-22T08:00:00Z"}}', 'not json', ''].join('\n');
    const out = emittedNow(file, '2026-12-02T23:50:00.000Z').split('\n');
    expect(out[0]).toBe('// hires');
    expect(JSON.parse(out[1]!)).toEqual({ id: 'hris-E1-2', time: '2026-12-02T23:50:00.000Z', data: { effectiveAt: '2026-11-22T08:00:00Z' } });
    expect(out.slice(2)).toEqual(['not json', '']);
  });
});
