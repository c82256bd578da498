// Process entry of one target app (dist/targets/main.js): see process-options.ts for its
// arguments. Logs pino JSON to stdout; SIGTERM or SIGINT stops it after writing its state file.
import { projectRoot } from '../schemas/config.js';
import { createLogger } from '../observability/logger.js';
import { parseProcessOptions, type ProcessOptions } from './process-options.js';
import { startScimApp } from './server.js';

let options: ProcessOptions;
try {
  options = parseProcessOptions(process.argv.slice(2), process.env, projectRoot);
} catch (err) {
  process.stderr.write(`scim-target: ${(err as Error).message}\n`);
  process.exit(2);
}

const { logLevel, ...appOptions } = options;
const logger = createLogger({ level: logLevel, name: 'scim-target' });
process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.exit(1);
});

try {
  const app = await startScimApp({ ...appOptions, logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  logger.fatal({ err, port: appOptions.port, host: appOptions.host }, 'could not start the SCIM app');
  process.exit(1);
}
