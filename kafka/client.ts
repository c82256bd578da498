// The one adapter around kafkajs (unmaintained): everything else imports Kafka through here.
// kafkajs logs through pino, never the console.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import kafkajs, { Kafka, logLevel as KafkaLogLevel, type AdminConfig, type ConsumerConfig, type KafkaConfig, type LogEntry, type ProducerConfig, type SASLOptions } from 'kafkajs';
import { ConfigError, type Config } from '../schemas/config.js';
import type { Logger } from '../observability/logger.js';
import { oauthBearerProvider } from './oauth-bearer.js';
import { withKafkaConnectionProblem } from './connection-problem.js';

export { KafkaConnectionError, kafkaConnectionProblem, withKafkaConnectionProblem } from './connection-problem.js';

export type { Admin, Consumer, Kafka, Producer, EachBatchPayload, EachMessagePayload, KafkaMessage, IHeaders } from 'kafkajs';
export { CompressionTypes } from 'kafkajs';
// Past `CompressionCodecs` in kafkajs' exports, Node's CommonJS lexer finds no names: through the default export.
export const { ConfigResourceTypes } = kafkajs;

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

type KafkaSettings = Pick<Config['kafka'], 'tls' | 'sasl'>;

/** A file the Kafka settings name, read now; a missing or unreadable one is a configuration problem. */
function readSettingFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); correct ${setting} or the file's permissions`, { cause: err });
  }
}

/** kafka.tls as Node's TLS options: the CA and client certificate read from their files; the broker's certificate is always verified. */
export function kafkaSsl(tls: KafkaSettings['tls']): ConnectionOptions | undefined {
  if (!tls) return undefined;
  return {
    rejectUnauthorized: true,
    ...(tls.caFile ? { ca: readSettingFile(tls.caFile, 'kafka.tls.caFile') } : {}),
    ...(tls.certFile && tls.keyFile
      ? { cert: readSettingFile(tls.certFile, 'kafka.tls.certFile'), key: readSettingFile(tls.keyFile, 'kafka.tls.keyFile') }
      : {}),
  };
}

/**
 * kafka.sasl as kafkajs' options. A password file is read now (a missing one fails at once) and again
 * at each authentication, so a rotated password is used by the next connection without a restart.
 */
export function kafkaSasl(sasl: KafkaSettings['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === 'oauthbearer') {
    // The schema refuses oauthbearer without its block.
    return { mechanism: 'oauthbearer', oauthBearerProvider: oauthBearerProvider(sasl.oauthbearer!) };
  }
  const { mechanism, username, password, passwordFile } = sasl;
  const readPassword = () => (passwordFile ? readSettingFile(passwordFile, 'kafka.sasl.passwordFile').trim() : password!);
  readPassword();
  // A getter, not a value: kafkajs reads sasl.password when it authenticates a connection.
  return Object.defineProperty({ mechanism, username: username! }, 'password', { get: readPassword, enumerable: false }) as SASLOptions;
}

export type KafkaClientOptions = { clientId?: string; logger?: Logger; connectionTimeout?: number; retries?: number };

/** The kafkajs configuration for these settings (pure but for reading the files kafka.tls and kafka.sasl name). */
export function kafkaClientConfig(cfg: Pick<Config, 'kafka'>, options: KafkaClientOptions = {}): KafkaConfig {
  const ssl = kafkaSsl(cfg.kafka.tls);
  const sasl = kafkaSasl(cfg.kafka.sasl);
  return {
    clientId: options.clientId ?? cfg.kafka.clientId,
    brokers: cfg.kafka.brokers,
    connectionTimeout: options.connectionTimeout ?? 3000,
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    logCreator: pinoLogCreator(options.logger),
    retry: { retries: options.retries ?? 5, initialRetryTime: 200 },
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
  };
}

/**
 * kafkajs' client whose producers, consumers and admins fail to connect with one line naming the
 * hop (`kafka: authentication failed at ...; check ...`, a KafkaConnectionError): a wrong password,
 * an untrusted certificate or a missing broker reads the same in every process and command.
 */
class ExplainedKafka extends Kafka {
  constructor(config: KafkaConfig, private readonly settings: Config['kafka']) {
    super(config);
  }

  private explained<T extends { connect(): Promise<void> }>(client: T): T {
    const connect = client.connect.bind(client);
    client.connect = () => connect().catch((err: unknown) => Promise.reject(withKafkaConnectionProblem(err, this.settings)));
    return client;
  }

  override producer(config?: ProducerConfig) {
    return this.explained(super.producer(config));
  }

  override consumer(config: ConsumerConfig) {
    return this.explained(super.consumer(config));
  }

  override admin(config?: AdminConfig) {
    return this.explained(super.admin(config));
  }
}

export function createKafka(cfg: Pick<Config, 'kafka'>, options: KafkaClientOptions = {}): Kafka {
  return new ExplainedKafka(kafkaClientConfig(cfg, options), cfg.kafka);
}
