// Routes the Temporal SDK's logs (worker, replay-aware workflow and activity loggers) to pino.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger.js';

const toPino: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

let installed = false;

/** Installs the Temporal runtime once per process with its logs going to pino at WARN and above. */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'WARN'): void {
  if (installed) return;
  const log = logger.child({ component: 'temporal' });
  try {
    Runtime.install({ logger: new DefaultLogger(level, ({ level: l, message, meta }) => log[toPino[l]]({ ...(meta ?? {}) }, message)) });
  } catch (err) {
    // One runtime per process: whoever installed it first (a test harness) keeps it.
    if ((err as Error).name !== 'IllegalStateError') throw err;
  }
  installed = true;
}
