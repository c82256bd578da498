// The real Apache Kafka broker in KRaft mode, single node, from its Maven Central jars.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { projectRoot } from '../schemas/config.js';
import { createKafka } from '../kafka/client.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import { run, requireCommand, type Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'kafka';
const JAVA17 = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';

export function kafkaTopics(cfg: Config): string[] {
  const t = cfg.kafka.topics;
  return [t.hrLifecycle, `${t.hrLifecycle}.dlq`, t.itsmRequests, `${t.itsmRequests}.dlq`, t.outcomes, t.audit];
}

export function javaBinary(): string {
  if (existsSync(JAVA17)) return JAVA17;
  if (process.env.JAVA_HOME && existsSync(path.join(process.env.JAVA_HOME, 'bin', 'java'))) {
    return path.join(process.env.JAVA_HOME, 'bin', 'java');
  }
  return requireCommand('java', 'a Java 17+ runtime (Debian: apt-get install -y openjdk-17-jre-headless)');
}

/** The folder of Kafka jars: KAFKA_HOME/libs, else the cache, else fetched from Maven Central. */
async function obtainLibs(cfg: Config, report: Reporter): Promise<string> {
  if (cfg.kafka.home) {
    const libs = path.join(cfg.kafka.home, 'libs');
    if (!existsSync(libs)) throw new Error(`KAFKA_HOME=${cfg.kafka.home} has no libs/ folder; point it at an unpacked Kafka distribution`);
    report(`kafka: using the distribution in KAFKA_HOME (${cfg.kafka.home})`);
    return libs;
  }
  const dir = path.join(cfg.cacheDir, `kafka-${cfg.kafka.version}`, 'libs');
  const marker = path.join(dir, '.complete');
  if (existsSync(marker)) return dir;
  const mvn = requireCommand('mvn', 'Maven and Java 17 (Debian: apt-get install -y maven openjdk-17-jdk-headless), or run Kafka yourself and set KAFKA_BROKERS, or use `docker compose up`');
  report(`kafka: fetching Apache Kafka ${cfg.kafka.version} jars from Maven Central into ${dir}`);
  mkdirSync(dir, { recursive: true });
  let downloaded = 0;
  await run(mvn, [
    '-B', '-f', path.join(projectRoot, 'stack', 'kafka', 'pom.xml'),
    `-Dkafka.version=${cfg.kafka.version}`, `-Dscala.binary.version=${cfg.kafka.scalaVersion}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${dir}`,
  ], {
    logFile: path.join(cfg.dataDir, 'logs', 'kafka-fetch.log'),
    onLine: (line) => {
      if (/^\[INFO\] Downloaded from/.test(line)) {
        downloaded += 1;
        if (downloaded % 10 === 0) report(`kafka: ${downloaded} artifacts downloaded...`);
      } else if (/ERROR/.test(line)) report(`kafka: ${line}`);
    },
  });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  report(`kafka: ${readdirSync(dir).filter((f) => f.endsWith('.jar')).length} jars ready`);
  return dir;
}

function writeServerConfig(cfg: Config, dir: string): { props: string; log4j: string } {
  const [host, port] = cfg.kafka.brokers[0]!.split(':');
  const props = path.join(dir, 'server.properties');
  const log4j = path.join(dir, 'log4j.properties');
  writeFileSync(props, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${cfg.kafka.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${cfg.kafka.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${path.join(dir, 'data')}`,
    `num.partitions=${cfg.kafka.partitions}`,
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n'));
  writeFileSync(log4j, [
    'log4j.rootLogger=WARN, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.server.KafkaServer=INFO',
    'log4j.logger.kafka.server.BrokerServer=INFO',
    '',
  ].join('\n'));
  return { props, log4j };
}

export async function kafkaHealthy(cfg: Config): Promise<boolean> {
  const admin = createKafka(cfg, { clientId: 'provisioner-health', connectionTimeout: 1500, retries: 0 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Creates the project's topics if missing (idempotent). */
export async function ensureTopics(cfg: Config, topics = kafkaTopics(cfg)): Promise<string[]> {
  const admin = createKafka(cfg, { clientId: 'provisioner-admin' }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: cfg.kafka.partitions, replicationFactor: 1 })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

export async function kafkaUp(cfg: Config, report: Reporter): Promise<void> {
  const where = cfg.kafka.brokers.join(',');
  if (await kafkaHealthy(cfg)) {
    report(`kafka: reusing the healthy broker at ${where}`);
  } else if (cfg.kafka.external) {
    throw new Error(`kafka: KAFKA_BROKERS=${where} is not reachable; start that broker or unset KAFKA_BROKERS to let the stack run one`);
  } else {
    const libs = await obtainLibs(cfg, report);
    const java = javaBinary();
    const dir = path.join(cfg.dataDir, NAME);
    mkdirSync(dir, { recursive: true });
    const { props, log4j } = writeServerConfig(cfg, dir);
    const idFile = path.join(dir, 'cluster-id');
    const classpath = `${libs}/*`;
    if (!existsSync(idFile)) {
      const { stdout } = await run(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
      writeFileSync(idFile, stdout.trim().split('\n').pop()!.trim());
    }
    await run(java, [`-Dlog4j.configuration=file:${log4j}`, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-c', props, '-t', readFileSync(idFile, 'utf8').trim(), '--ignore-formatted']);
    const proc = startDetached({
      runDir: cfg.dataDir,
      name: NAME,
      command: java,
      args: ['-Xms256m', '-Xmx768m', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${log4j}`, '-cp', classpath, 'kafka.Kafka', props],
    });
    report(`kafka: starting Apache Kafka ${cfg.kafka.version} (pid ${proc.pid}, log ${proc.logFile})`);
    await waitFor('kafka', () => kafkaHealthy(cfg), { timeoutMs: 90_000, intervalMs: 500, alive: () => readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined, logFile: proc.logFile });
  }
  const created = await ensureTopics(cfg);
  report(`kafka: listening on ${where}; topics ${created.length > 0 ? `created: ${created.join(', ')}` : 'present'} (${cfg.kafka.partitions} partitions each)`);
}

export async function kafkaDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 30_000);
}

export async function kafkaStatus(cfg: Config): Promise<ServerStatus> {
  const pid = readLivePid(pidFile(cfg.dataDir, NAME));
  return { name: NAME, where: cfg.kafka.brokers.join(','), managed: !cfg.kafka.external, pid, healthy: await kafkaHealthy(cfg) };
}
