// The demo's on-call lines: what `provisioner dev` reports on /metrics after the demo's work (step
// attempts by outcome, time to provision per event type), the attention lines of `provisioner
// status`, and where the alert rules, the dashboard and the runbook are.
import type { Config } from '../../schemas/config.js';

type Series = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** One line on the steps and one per event type's time to provision (mean of what was observed). */
export function metricsSummary(series: readonly Series[]): string[] {
  const steps = new Map<string, number>();
  for (const s of series.filter((x) => x.name === 'provisioner_steps_total')) steps.set(s.labels.outcome!, (steps.get(s.labels.outcome!) ?? 0) + s.value);
  const total = [...steps.values()].reduce((a, b) => a + b, 0);
  const lines = [`${total} step attempts (${[...steps].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ')})`];
  const byType = new Map<string, { count: number; sum: number }>();
  for (const s of series) {
    if (s.name !== 'provisioner_time_to_provision_seconds_count' && s.name !== 'provisioner_time_to_provision_seconds_sum') continue;
    const t = byType.get(s.labels.event_type!) ?? { count: 0, sum: 0 };
    if (s.name.endsWith('_count')) t.count += s.value;
    else t.sum += s.value;
    byType.set(s.labels.event_type!, t);
  }
  for (const [type, t] of byType) if (t.count > 0) lines.push(`time to provision ${type}: mean ${(t.sum / t.count).toFixed(1)} s over ${t.count} (change, application) pairs`);
  return lines;
}

export async function demoMetricsLines(cfg: Config): Promise<string[]> {
  const url = `http://${cfg.http.healthHost}:${cfg.http.devPort}/metrics`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return [`metrics: ${url} answered ${res.status}`];
    return [`metrics: ${url}: ${metricsSummary(parseMetrics(await res.text())).join('; ')}`];
  } catch (err) {
    return [`metrics: ${url} did not answer (${(err as Error).message})`];
  }
}
