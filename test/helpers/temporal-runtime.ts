// Keeps the Temporal SDK's own logging at WARN in tests, so output shows what matters; its metrics
// are served as in a worker process, for /metrics (observability/temporal-metrics.ts).
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freeLoopbackAddress, setTemporalMetricsAddress, temporalMetricsTelemetry } from '../../observability/temporal-metrics.js';

try {
  const bindAddress = await freeLoopbackAddress();
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: temporalMetricsTelemetry(bindAddress) });
  setTemporalMetricsAddress(bindAddress);
} catch {
  // Already installed in this process by an earlier test file.
}
