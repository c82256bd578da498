// The ingress process: the HR consumer with its Temporal client.
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../codec/data-converter.js';
import { createHrConsumer, type HrConsumer } from '../ingress/hr-consumer.js';
import type { Logger } from '../observability/logger.js';
import type { Config } from '../schemas/config.js';

export type Ingress = { consumer: HrConsumer; client: Client; shutdown(): Promise<void> };

export async function startIngress(cfg: Config, logger: Logger, options: { topic?: string; groupId?: string; taskQueue?: string } = {}): Promise<Ingress> {
  const connection = await Connection.connect({ address: cfg.temporal.address });
  const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir) });
  const consumer = createHrConsumer({ cfg, client, logger, ...options });
  await consumer.start();
  return {
    consumer,
    client,
    async shutdown() {
      await consumer.stop();
      await connection.close();
    },
  };
}
