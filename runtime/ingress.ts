// The ingress process: the HR and ITSM consumers with their Temporal client. Readiness covers both.
import { Client } from '@temporalio/client';
import { dataConverter } from '../codec/data-converter.js';
import { createHrConsumer, type HrConsumer } from '../ingress/hr-consumer.js';
import { createItsmConsumer, type ItsmConsumer } from '../ingress/itsm-consumer.js';
import type { Logger } from '../observability/logger.js';
import type { Config } from '../schemas/config.js';
import { openStore, type Store } from '../store/index.js';
import { connectTemporal } from '../clients/temporal-connection.js';
import { tracingOff, type Tracing } from '../observability/tracing/provider.js';
import { workflowClientInterceptors } from '../observability/tracing/temporal.js';

export type Ingress = {
  /** Readiness of every consumer of the process (the /ready of `provisioner ingress`). */
  consumer: { isReady(): boolean };
  consumers: { hr: HrConsumer; itsm?: ItsmConsumer };
  client: Client;
  shutdown(): Promise<void>;
};

export type IngressOptions = {
  /** The hr.lifecycle topic and group (default: the configuration's). */
  topic?: string;
  groupId?: string;
  taskQueue?: string;
  /**
   * The ITSM consumer: its topic and group (default: `kafka.topics.itsmRequests` and the HR group
   * with `-itsm`), and the store that audits refused decisions (default: the configured store,
   * opened on first use). `false`: no ITSM consumer in this process.
   */
  itsm?: false | { topic?: string; groupId?: string; store?: Store };
  /** The process's tracing: when on, a workflow start or signal carries the consumer span's trace in its headers. Default off. */
  tracing?: Tracing;
};

export async function startIngress(cfg: Config, logger: Logger, options: IngressOptions = {}): Promise<Ingress> {
  const { itsm, tracing, ...hrOptions } = options;
  const connection = await connectTemporal(cfg);
  const client = new Client({
    connection,
    namespace: cfg.temporal.namespace,
    dataConverter: dataConverter(cfg.dataDir, cfg.mode),
    interceptors: { workflow: workflowClientInterceptors(tracing ?? tracingOff) },
  });
  const hr = createHrConsumer({ cfg, client, logger, ...hrOptions });
  // The store is needed only to audit a refused decision: opened then, not at start-up.
  let opened: Promise<Store> | undefined;
  const openOnce = () =>
    (opened ??= openStore(cfg, { logger }).catch((err: unknown) => {
      opened = undefined;
      throw err;
    }));
  const itsmConsumer =
    itsm === false
      ? undefined
      : createItsmConsumer({
          cfg,
          client,
          logger,
          store: itsm?.store ?? openOnce,
          ...(options.taskQueue !== undefined ? { taskQueue: options.taskQueue } : {}),
          ...(itsm?.topic !== undefined ? { topic: itsm.topic } : {}),
          groupId: itsm?.groupId ?? (options.groupId !== undefined ? `${options.groupId}-itsm` : undefined),
        });
  const consumers = [hr, ...(itsmConsumer ? [itsmConsumer] : [])];
  try {
    for (const c of consumers) await c.start();
  } catch (err) {
    await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
    await connection.close();
    throw err;
  }
  return {
    consumer: { isReady: () => consumers.every((c) => c.isReady()) },
    consumers: { hr, ...(itsmConsumer ? { itsm: itsmConsumer } : {}) },
    client,
    async shutdown() {
      await Promise.all(consumers.map((c) => c.stop()));
      if (opened) await (await opened.catch(() => undefined))?.close();
      await connection.close();
    },
  };
}
