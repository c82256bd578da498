// The metrics during a drill, for its report: each drill process's /metrics registered with the
// local Prometheus (`stack up prometheus`) under the label `drill="<id>"`, and the key series of the
// bench (time to provision, steps per second by outcome, consumer lag, the fence) read back over
// the drill's run once it is over. Without a local Prometheus the report says how to get them.
import { formatKeySeries, queryKeySeries } from '../stack/prometheus-key-series.js';
import type { Config } from '../schemas/config.js';
import { prometheusHealthy, prometheusUrl } from '../stack/prometheus.js';
import { registerScrapeTarget } from '../stack/prometheus-targets.js';
import type { DrillPipeline } from './drill-pipeline.js';

export type DrillMetrics = { prometheus: string; lines: string[] } | { prometheus: undefined; lines: string[] };

/**
 * Registers the drill's processes with the stack's Prometheus (a target per health port; a process
 * restarted after a kill comes back on the same port). Returns the function that removes them.
 */
export function registerDrillTargets(base: Config, pipeline: DrillPipeline): () => void {
  const removers = pipeline.processes.map((p) =>
    registerScrapeTarget(base.dataDir, { processName: `${pipeline.id}-${p.role}-${p.index}`, host: '127.0.0.1', port: p.healthPort, labels: { drill: pipeline.id } }),
  );
  return () => {
    for (const remove of removers) remove();
  };
}

/** The key series over the drill's run, from the local Prometheus when one runs. */
export async function drillMetrics(base: Config, drillId: string, start: Date, end: Date): Promise<DrillMetrics> {
  if (!(await prometheusHealthy(base))) {
    return { prometheus: undefined, lines: ['The local Prometheus was not running: start it with `npx provisioner stack up prometheus` before the drill to get the metrics during the fault here.'] };
  }
  const url = prometheusUrl(base);
  try {
    const report = await queryKeySeries(url, { instance: `drill ${drillId}`, selector: `drill="${drillId}"`, start, end });
    return { prometheus: url, lines: formatKeySeries(report) };
  } catch (err) {
    return { prometheus: url, lines: [`The local Prometheus at ${url} did not answer the drill's queries: ${err instanceof Error ? err.message : String(err)}`] };
  }
}
