// `provisioner worker | ingress | dev`: the long-running processes, each with /health and /ready,
// and a SIGTERM (or SIGINT) that drains in-flight work before exiting. `dev` also serves the HTTP
// API (approvals, fence, codec) with a local development JWT secret, so that one process runs
// the whole system for the demo and for a developer.
import type { Command } from 'commander';
import { createLogger, type Logger } from '../../observability/logger.js';
import { startHealthServer, type HealthServer } from '../../observability/health-server.js';
import { ConfigError, loadConfig, type Config } from '../../schemas/config.js';
import { startIngress, type Ingress } from '../../runtime/ingress.js';
import { createProvisioningWorker, type ProvisioningWorker } from '../../runtime/worker.js';
import { refuseUnfitForProduction } from '../../runtime/production-checks.js';
import { API_PORT_SETTING, corsOrigins, startApi, type ApiServer } from '../../api/server.js';
import { ensureDevSecret, loadJwtSettings } from '../../api/auth.js';
import { apiVerifier } from '../../api/verifier.js';
import { assertPortFree, listenError, PortInUseError } from '../../runtime/ports.js';
import { CommandFailure, kafkaReason, oneLine } from '../failure.js';
import { KafkaConnectionError, withKafkaConnectionProblem } from '../../kafka/client.js';
import { registerScrapeTarget } from '../../stack/prometheus-targets.js';
import { startTracing, type Tracing } from '../../observability/tracing/provider.js';

type Parts = { worker?: ProvisioningWorker; ingress?: Ingress; api?: ApiServer; health?: HealthServer; unregisterScrapeTarget?: () => void; tracing?: Tracing };
type ProcessName = 'worker' | 'ingress' | 'dev';

/** Stops what has started: the API and the consumers first (no new work), then the worker's in-flight tasks. */
async function stopParts(logger: Logger, parts: Parts): Promise<void> {
  parts.unregisterScrapeTarget?.();
  await parts.api?.close().catch((err: Error) => logger.error({ err }, 'api close failed'));
  await parts.ingress?.shutdown().catch((err: Error) => logger.error({ err }, 'ingress shutdown failed'));
  await parts.worker?.shutdown().catch((err: Error) => logger.error({ err }, 'worker shutdown failed'));
  // The spans of the drained work are exported before the process ends.
  await parts.tracing?.shutdown().catch((err: Error) => logger.error({ err }, 'trace export at shutdown failed'));
  await parts.health?.close();
}

function drainOnSignal(logger: Logger, parts: Parts): void {
  let draining = false;
  const drain = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new work is taken, in-flight work finishes');
    await stopParts(logger, parts);
    logger.info('drained; exiting');
    process.exit(0);
  };
  process.once('SIGTERM', () => void drain('SIGTERM'));
  process.once('SIGINT', () => void drain('SIGINT'));
}

/** The process's ports, with the setting that chose each. */
function portsOf(cfg: Config, name: ProcessName): Array<{ port: number; setting: string }> {
  const health = {
    worker: { port: cfg.http.workerPort, setting: 'http.workerPort' },
    ingress: { port: cfg.http.ingressPort, setting: 'http.ingressPort' },
    dev: { port: cfg.http.devPort, setting: 'http.devPort' },
  }[name];
  return name === 'dev' ? [health, { port: cfg.http.apiPort, setting: API_PORT_SETTING }] : [health];
}

/** A start-up failure as the one line the process ends with: what failed, and why. */
function startFailure(name: ProcessName, stage: string, err: unknown, cfg: Config): Error {
  // A configuration, key-file or policy problem says what to fix itself (and exits with 2).
  if (err instanceof ConfigError) return err;
  if (err instanceof PortInUseError) return new CommandFailure(`provisioner ${name}: ${err.message}`, { cause: err });
  // Kafka unreachable or refusing the credentials (at connect, or at the first request when the
  // client did not authenticate at all): the hop's line says what to check.
  const kafka = withKafkaConnectionProblem(err, cfg.kafka);
  if (kafka instanceof KafkaConnectionError) return kafka;
  const reason = kafkaReason(err) ?? oneLine(err instanceof Error ? err.message : String(err));
  return new CommandFailure(`provisioner ${name}: ${stage} failed: ${reason}`, { cause: err });
}

async function runProcess(name: ProcessName): Promise<void> {
  const cfg = loadConfig();
  // Before any port, server or key: production mode refuses a start on development defaults.
  refuseUnfitForProduction(cfg, name);
  const logger = createLogger({ level: cfg.logLevel, name: `provisioner-${name}` });
  const ports = portsOf(cfg, name);
  // The ports first: a process that cannot serve its health endpoint or API must not take events.
  try {
    for (const { port, setting } of ports) await assertPortFree(port, setting);
  } catch (err) {
    throw startFailure(name, 'start-up', err, cfg);
  }
  // Off unless tracing.otlpEndpoint is set; one service per process (provisioner-worker, -ingress, -dev).
  const tracing = startTracing(cfg.tracing, `provisioner-${name}`);
  const parts: Parts = { tracing };
  drainOnSignal(logger, parts);
  let stage = 'start-up';
  let health: HealthServer;
  try {
    if (name !== 'ingress') {
      stage = `the worker (Temporal at ${cfg.temporal.address})`;
      parts.worker = await createProvisioningWorker(cfg, logger, { tracing });
    }
    if (name !== 'worker') {
      stage = `the ingress (Kafka at ${cfg.kafka.brokers.join(',')}, Temporal at ${cfg.temporal.address})`;
      parts.ingress = await startIngress(cfg, logger, { tracing, ...(parts.worker ? { itsm: { store: parts.worker.store } } : {}) });
    }
    if (name === 'dev' && parts.worker && parts.ingress) {
      stage = 'the API';
      // Development mode: a configured secret wins, else the checkout's development secret (created
      // once, 0600); the identity provider's tokens too when api.oidc is set. Production: only those.
      if (cfg.mode === 'development' && !loadJwtSettings(cfg)) ensureDevSecret(cfg.dataDir);
      const { verify } = apiVerifier(cfg, logger);
      parts.api = await startApi({ cfg, logger, client: parts.ingress.client, store: parts.worker.store, port: ports[1]!.port, verify, corsOrigins: corsOrigins(cfg) });
    }
    stage = 'the health endpoint';
    parts.health = health = await startHealthServer({
      port: ports[0]!.port,
      host: cfg.http.healthHost,
      name,
      ready: () => ({
        ...(parts.worker ? { workerPolling: parts.worker.isReady() } : {}),
        // False once a checkpoint destination (file, audit topic) has failed for longer than the grace.
        ...(parts.worker?.checkpoints ? { auditCheckpoints: parts.worker.checkpoints.healthy() } : {}),
        ...(parts.ingress ? { kafkaConsumerFetching: parts.ingress.consumer.isReady() } : {}),
      }),
    }).catch((err: unknown) => Promise.reject(listenError(err, ports[0]!.port, ports[0]!.setting)));
  } catch (err) {
    // Nothing that started may keep consuming: stop it (bounded), then end with one line.
    await Promise.race([stopParts(logger, parts), new Promise((r) => setTimeout(r, 5000).unref())]);
    throw startFailure(name, stage, err, cfg);
  }
  // Development mode: the local stack's Prometheus (stack/prometheus.ts) scrapes this process until it drains.
  // A folder it cannot write costs the local scrape only, never the process.
  if (cfg.mode === 'development') {
    try {
      parts.unregisterScrapeTarget = registerScrapeTarget(cfg.dataDir, { processName: name, host: cfg.http.healthHost, port: health.port });
    } catch (err) {
      logger.warn({ err }, 'could not register the local Prometheus scrape target');
    }
  }
  logger.info({ health: `http://${cfg.http.healthHost}:${health.port}/health`, ready: `http://${cfg.http.healthHost}:${health.port}/ready`, metrics: `http://${cfg.http.healthHost}:${health.port}/metrics` }, `${name} running`);
  if (parts.worker) {
    await parts.worker.run().catch(async (err: Error) => {
      logger.fatal({ err }, 'the worker stopped with an error');
      // The spans that show the failure are exported first, for at most five seconds.
      await Promise.race([parts.tracing?.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
      process.exit(1);
    });
  }
}

export function registerProcessCommands(program: Command): void {
  program.command('worker').description('run the Temporal worker: workflows and connector activities').action(() => runProcess('worker'));
  program.command('ingress').description('run the Kafka consumers that start and signal workflows').action(() => runProcess('ingress'));
  program.command('dev').description('run the worker and the ingress in one process (for the demo)').action(() => runProcess('dev'));
}
