// `provisioner worker | ingress | dev`: the long-running processes, each with /health and /ready,
// and a SIGTERM (or SIGINT) that drains in-flight work before exiting. `dev` also serves the HTTP
// API (approvals, fence, codec) with a local development JWT secret, so that one process runs
// the whole system for the demo and for a developer.
import type { Command } from 'commander';
import { createLogger, type Logger } from '../../observability/logger.js';
import { startHealthServer, type HealthServer } from '../../observability/health-server.js';
import { loadConfig } from '../../schemas/config.js';
import { startIngress, type Ingress } from '../../runtime/ingress.js';
import { createProvisioningWorker, type ProvisioningWorker } from '../../runtime/worker.js';
import { corsOrigins, startApi, type ApiServer } from '../../api/server.js';
import { ensureDevSecret, loadJwtSettings } from '../../api/auth.js';

type Parts = { worker?: ProvisioningWorker; ingress?: Ingress; api?: ApiServer; health?: HealthServer };

function drainOnSignal(logger: Logger, parts: Parts): void {
  let draining = false;
  const drain = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new work is taken, in-flight work finishes');
    // Stop taking events first, then let the worker finish its in-flight tasks.
    await parts.api?.close().catch((err: Error) => logger.error({ err }, 'api close failed'));
    await parts.ingress?.shutdown().catch((err: Error) => logger.error({ err }, 'ingress shutdown failed'));
    await parts.worker?.shutdown().catch((err: Error) => logger.error({ err }, 'worker shutdown failed'));
    await parts.health?.close();
    logger.info('drained; exiting');
    process.exit(0);
  };
  process.once('SIGTERM', () => void drain('SIGTERM'));
  process.once('SIGINT', () => void drain('SIGINT'));
}

async function runProcess(name: 'worker' | 'ingress' | 'dev'): Promise<void> {
  const cfg = loadConfig();
  const logger = createLogger({ level: cfg.logLevel, name: `provisioner-${name}` });
  const parts: Parts = {};
  drainOnSignal(logger, parts);
  if (name !== 'ingress') parts.worker = await createProvisioningWorker(cfg, logger);
  if (name !== 'worker') parts.ingress = await startIngress(cfg, logger, parts.worker ? { itsm: { store: parts.worker.store } } : {});
  if (name === 'dev' && parts.worker && parts.ingress) {
    // A configured secret wins; otherwise the checkout's development secret (created once, 0600).
    if (!loadJwtSettings(cfg)) ensureDevSecret(cfg.dataDir);
    const jwt = loadJwtSettings(cfg)!;
    parts.api = await startApi({ cfg, logger, client: parts.ingress.client, store: parts.worker.store, jwt, corsOrigins: corsOrigins(cfg) });
  }
  const port = { worker: cfg.http.workerPort, ingress: cfg.http.ingressPort, dev: cfg.http.devPort }[name];
  parts.health = await startHealthServer({
    port,
    name,
    ready: () => ({
      ...(parts.worker ? { workerPolling: parts.worker.isReady() } : {}),
      ...(parts.ingress ? { kafkaConsumerFetching: parts.ingress.consumer.isReady() } : {}),
    }),
  });
  logger.info({ health: `http://127.0.0.1:${parts.health.port}/health`, ready: `http://127.0.0.1:${parts.health.port}/ready` }, `${name} running`);
  if (parts.worker) {
    await parts.worker.run().catch((err: Error) => {
      logger.fatal({ err }, 'the worker stopped with an error');
      process.exit(1);
    });
  }
}

export function registerProcessCommands(program: Command): void {
  program.command('worker').description('run the Temporal worker: workflows and connector activities').action(() => runProcess('worker'));
  program.command('ingress').description('run the Kafka consumers that start and signal workflows').action(() => runProcess('ingress'));
  program.command('dev').description('run the worker and the ingress in one process (for the demo)').action(() => runProcess('dev'));
}
