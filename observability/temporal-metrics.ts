// The Temporal SDK's own metrics (worker task slots, poll successes, schedule-to-start latency,
// sticky cache, activity and workflow task outcomes): Temporal's Core serves them in Prometheus
// format on a loopback port of its own, and the process's `/metrics` appends them to the
// application's (observability/metrics.ts), so one scrape gets both. Their labels are Temporal's
// (namespace, task queue, workflow and activity type): no person is named there either.
import { createServer } from 'node:net';

// One runtime per process, so one address per process (kept on the global object: a module loaded
// again, as test runners do per file, still finds the runtime the process installed first).
const KEY = Symbol.for('provisioner.temporalMetricsAddress');
const slot = globalThis as { [KEY]?: string };

/** A free 127.0.0.1 port for Core's exporter (it cannot report one it chose itself). */
export function freeLoopbackAddress(): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

/** The runtime's telemetry options that make Core serve its metrics at `bindAddress`. */
export function temporalMetricsTelemetry(bindAddress: string) {
  return { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true }, attachServiceName: false } } as const;
}

/** Where the runtime installed in this process serves its metrics (set by whoever installed it). */
export function setTemporalMetricsAddress(bindAddress: string | undefined): void {
  slot[KEY] = bindAddress;
}

/** Core's metrics text, or a comment saying why there is none (no runtime with metrics in this process, or no answer). */
export async function temporalMetricsText(): Promise<string> {
  const address = slot[KEY];
  if (!address) return '';
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return `# the Temporal SDK's metrics answered ${res.status}\n`;
    return await res.text();
  } catch {
    return "# the Temporal SDK's metrics did not answer\n";
  }
}

/**
 * The Temporal SDK series the repository's alert rules and dashboard use (ops/): histograms by their
 * base name. The metrics integration test finds each in a real worker's scrape.
 */
export const TEMPORAL_SDK_SERIES = {
  histograms: ['temporal_workflow_task_schedule_to_start_latency', 'temporal_activity_schedule_to_start_latency'],
  gauges: ['temporal_worker_task_slots_available', 'temporal_num_pollers', 'temporal_sticky_cache_size'],
} as const;
