// The workflow tests fail activities and end workflows on purpose: the Temporal SDK's own logging
// (its TypeScript side and its core) at ERROR only.
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } } });
} catch {
  // Already installed in this process by an earlier test file.
}
