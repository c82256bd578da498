// Routes the Temporal SDK's logs (worker, replay-aware workflow and activity loggers) to pino, and
// has its metrics served for `/metrics` (observability/temporal-metrics.ts).
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger.js';
import { freeLoopbackAddress, setTemporalMetricsAddress, temporalMetricsTelemetry } from './temporal-metrics.js';

const toPino: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

let installed = false;

/** Installs the Temporal runtime once per process with its logs going to pino at WARN and above, and its metrics on a loopback port. */
export async function installTemporalRuntime(logger: Logger, level: LogLevel = 'WARN'): Promise<void> {
  if (installed) return;
  const log = logger.child({ component: 'temporal' });
  try {
    const bindAddress = await freeLoopbackAddress();
    Runtime.install({ logger: new DefaultLogger(level, ({ level: l, message, meta }) => log[toPino[l]]({ ...(meta ?? {}) }, message)), telemetryOptions: temporalMetricsTelemetry(bindAddress) });
    setTemporalMetricsAddress(bindAddress);
  } catch (err) {
    // One runtime per process: whoever installed it first (a test harness) keeps it.
    if ((err as Error).name !== 'IllegalStateError') throw err;
  }
  installed = true;
}
