// The alert rules and the dashboard in ops/, checked in the suite without promtool (whose first
// build takes minutes: `npm run check:ops` runs promtool check/test rules): every rule is complete
// and links to a section of docs/runbook.md that exists, and every series an alert or a panel
// queries is one provisioner or the Temporal SDK exports.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../observability/metrics.js';
import { TEMPORAL_SDK_SERIES } from '../../observability/temporal-metrics.js';
import { registerStoreGauges } from '../../runtime/store-metrics.js';
import type { Db } from '../../store/db.js';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

type Rule = { alert?: string; expr?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const rules: Rule[] = (parse(read('ops/prometheus/provisioner-alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('ops/grafana/provisioner-dashboard.json')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
const runbook = read('docs/runbook.md');

/** GitHub's anchor of a heading: lower case, spaces to dashes, punctuation dropped. */
const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));

/** Every series name provisioner exports: the application's registry, the worker's store gauges, the Temporal SDK's. */
async function exportedSeries(): Promise<Set<string>> {
  const registry = new Registry();
  createMetrics(registry);
  // Registering reads nothing: the gauges query the store only when scraped.
  registerStoreGauges({} as Db, { registry, checkpoints: () => [] });
  const names = new Set<string>(['up']);
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${m.name}${suffix}`);
  }
  for (const h of TEMPORAL_SDK_SERIES.histograms) for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${h}${suffix}`);
  for (const g of TEMPORAL_SDK_SERIES.gauges) names.add(g);
  return names;
}

/** The series names a PromQL expression reads (ours and Temporal's, and `up`). */
const seriesOf = (expr: string): string[] => [...new Set([...expr.matchAll(/\b((?:provisioner|temporal)_[a-z0-9_]+)\b|\b(up)\s*\{/g)].map((m) => (m[1] ?? m[2])!))];

describe('alert rules', () => {
  it('each has a name, an expression, a severity, a summary and a runbook section that exists', () => {
    expect(rules.length).toBeGreaterThanOrEqual(15);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(r.expr?.trim().length, r.alert).toBeGreaterThan(0);
      expect(['page', 'ticket'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      const link = /^docs\/runbook\.md#([a-z0-9-]+)$/.exec(r.annotations?.runbook_url ?? '');
      expect(link, `${r.alert}: runbook_url ${r.annotations?.runbook_url}`).not.toBeNull();
      expect(anchors.has(link![1]!), `${r.alert}: no section #${link![1]} in docs/runbook.md`).toBe(true);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('cover what the on-call engineer must hear about', () => {
    const names = rules.map((r) => r.alert);
    for (const must of ['ProvisionerLeaverDisableSlow', 'ProvisionerStepFailuresHigh', 'ProvisionerFenceHolding', 'ProvisionerDeadLettersGrowing', 'ProvisionerNoHrEvents', 'ProvisionerAuditCheckpointStale', 'TemporalWorkflowTaskScheduleToStartHigh', 'TemporalWorkerSlotsExhausted']) expect(names).toContain(must);
  });

  it('query only series provisioner and the Temporal SDK export', async () => {
    const exported = await exportedSeries();
    for (const r of rules) {
      const used = seriesOf(r.expr!);
      expect(used.length, `${r.alert} queries no series`).toBeGreaterThan(0);
      for (const s of used) expect(exported.has(s), `${r.alert}: ${s} is not exported`).toBe(true);
    }
  });
});

describe('the Grafana dashboard', () => {
  it('has the rows the on-call engineer needs, and every panel queries series that are exported', async () => {
    const exported = await exportedSeries();
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Provisioning', 'Fence and approvals', 'Events', 'Worker health', 'Audit']);
    const queried = dashboard.panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThanOrEqual(15);
    for (const p of queried) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) for (const s of seriesOf(t.expr)) expect(exported.has(s), `${p.title}: ${s} is not exported`).toBe(true);
      expect(p.targets!.every((t) => seriesOf(t.expr).length > 0), p.title).toBe(true);
    }
  });
});
