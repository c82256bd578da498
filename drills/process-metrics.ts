// Counters the drill's worker and ingress processes serve on their health port's /metrics
// (the application's and, on workers, the Temporal SDK's: observability/temporal-metrics.ts),
// summed over every label and process of a role: a scenario reads them before and after its fault.
import type { DrillPipeline } from './drill-pipeline.js';

/**
 * Each counter's total over the role's live processes (a process that does not answer adds nothing);
 * with `labels`, only the series carrying each of them (e.g. `{ app: 'drill-directory' }`).
 */
export async function counterTotals(pipeline: DrillPipeline, role: 'worker' | 'ingress', names: readonly string[], labels: Readonly<Record<string, string>> = {}): Promise<Record<string, number>> {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const totals: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  await Promise.all(
    pipeline.processes
      .filter((p) => p.role === role)
      .map(async (p) => {
        const text = await fetch(`http://127.0.0.1:${p.healthPort}/metrics`, { signal: AbortSignal.timeout(3000) }).then((r) => (r.ok ? r.text() : '')).catch(() => '');
        for (const line of text.split('\n')) {
          const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? ([\d.eE+-]+)$/.exec(line);
          if (!match || !names.includes(match[1]!)) continue;
          const series = (match[2] ?? '').split(',');
          if (wanted.every((w) => series.includes(w))) totals[match[1]!]! += Number(match[3]);
        }
      }),
  );
  return totals;
}
