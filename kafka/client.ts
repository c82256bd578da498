// The one adapter around kafkajs (unmaintained): everything else imports Kafka through here.
// kafkajs logs through pino, never the console.
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../schemas/config.js';
import type { Logger } from '../observability/logger.js';

export type { Admin, Consumer, Producer, EachBatchPayload, EachMessagePayload, KafkaMessage, IHeaders } from 'kafkajs';
export { CompressionTypes } from 'kafkajs';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

function pinoLogCreator(logger: Logger | undefined) {
  return () =>
    ({ level, log }: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = log;
      logger[levels[level] ?? 'info']({ kafka: extra }, message);
    };
}

export function createKafka(
  cfg: Config,
  options: { clientId?: string; logger?: Logger; connectionTimeout?: number; retries?: number } = {},
): Kafka {
  const kafkaConfig: KafkaConfig = {
    clientId: options.clientId ?? cfg.kafka.clientId,
    brokers: cfg.kafka.brokers,
    connectionTimeout: options.connectionTimeout ?? 3000,
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    logCreator: pinoLogCreator(options.logger),
    retry: { retries: options.retries ?? 5, initialRetryTime: 200 },
  };
  return new Kafka(kafkaConfig);
}
