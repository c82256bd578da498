// The real Apache Kafka broker in KRaft mode, single node, from its Maven Central jars.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { projectRoot, stackPkiDir } from '../schemas/config.js';
import { createKafka, type Admin } from '../kafka/client.js';
import { devPkiFiles, readPem } from './dev-pki.js';
import { ensureDevSecret } from './dev-secrets.js';
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
export async function obtainLibs(cfg: Config, report: Reporter): Promise<string> {
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

/** The SCRAM user of the secured broker: the client's own settings (examples/secure-stack.yaml). */
type ScramUser = { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };

/**
 * The secured broker's user, from the settings the clients read: kafka.sasl with a SCRAM mechanism,
 * its password from kafka.sasl.passwordFile (made once by the stack) or kafka.sasl.password.
 */
function scramUser(cfg: Config): ScramUser {
  const { sasl, tls } = cfg.kafka;
  if (!sasl || (sasl.mechanism !== 'scram-sha-512' && sasl.mechanism !== 'scram-sha-256') || !tls) {
    throw new Error('kafka: the secured local broker needs kafka.tls (caFile: <dataDir>/pki/ca.crt) and kafka.sasl with mechanism scram-sha-512 or scram-sha-256, a username and a passwordFile; see examples/secure-stack.yaml');
  }
  const password = sasl.passwordFile ? ensureDevSecret(sasl.passwordFile) : sasl.password!;
  return { mechanism: sasl.mechanism === 'scram-sha-512' ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256', username: sasl.username!, password };
}

/**
 * The secured broker's listeners: clients on SASL_SSL (TLS with the development CA's server
 * certificate in a PEM key store, SCRAM-SHA-512 and -256), the KRaft controller on loopback in
 * plain text. Inter-broker traffic (on one node: the broker's transaction markers to itself) goes
 * over the same SASL_SSL listener as the same SCRAM user, so the broker opens no second,
 * unauthenticated port and its own connections exercise the path the clients take.
 */
function secureListeners(cfg: Config, dir: string, host: string, port: string, user: ScramUser): string[] {
  const pki = devPkiFiles(stackPkiDir(cfg));
  // Kafka's PEM key store: the PKCS#8 key and the certificate in one file.
  const keystore = path.join(dir, 'broker-keystore.pem');
  writeFileSync(keystore, `${readPem(pki.keyFile).trim()}\n${readPem(pki.certFile).trim()}\n`, { mode: 0o600 });
  const jaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user.username}" password="${user.password}";`;
  const bind = host === 'localhost' ? '127.0.0.1' : host;
  return [
    `controller.quorum.voters=1@127.0.0.1:${cfg.kafka.controllerPort}`,
    `listeners=SASL_SSL://${bind}:${port},CONTROLLER://127.0.0.1:${cfg.kafka.controllerPort}`,
    // The name clients connect to and the server certificate carries (localhost, 127.0.0.1).
    `advertised.listeners=SASL_SSL://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name=SASL_SSL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256',
    `sasl.mechanism.inter.broker.protocol=${user.mechanism}`,
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas}`,
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${jaas}`,
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${keystore}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${pki.caFile}`,
    'ssl.client.auth=none',
    'ssl.endpoint.identification.algorithm=https',
  ];
}

function plainListeners(cfg: Config, host: string, port: string): string[] {
  return [
    `controller.quorum.voters=1@${host}:${cfg.kafka.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${cfg.kafka.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  ];
}

/**
 * A broker's partitions and copies (the same on the local broker, the local cluster and
 * docker-compose.yml): the project's topics' partitions, kafka.replicationFactor copies of every
 * topic (the brokers' own offsets and transaction logs too: committed offsets survive a lost broker),
 * kafka.minInsyncReplicas (default one fewer than the copies), no topic made by a typo.
 */
export function replicationProperties(cfg: Config, internalPartitions: number): string[] {
  const replicas = cfg.kafka.replicationFactor;
  const minIsr = cfg.kafka.minInsyncReplicas ?? Math.max(1, replicas - 1);
  return [
    `num.partitions=${cfg.kafka.partitions}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${replicas}`,
    `offsets.topic.num.partitions=${internalPartitions}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'unclean.leader.election.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
  ];
}

function writeServerConfig(cfg: Config, dir: string, user: ScramUser | undefined): { props: string; log4j: string } {
  const [host, port] = cfg.kafka.brokers[0]!.split(':') as [string, string];
  const props = path.join(dir, 'server.properties');
  const log4j = path.join(dir, 'log4j.properties');
  writeFileSync(props, [
    'process.roles=broker,controller',
    'node.id=1',
    ...(user ? secureListeners(cfg, dir, host, port, user) : plainListeners(cfg, host, port)),
    `log.dirs=${path.join(dir, 'data')}`,
    ...replicationProperties(cfg, 1),
    '',
  ].join('\n'), { mode: 0o600 }); // the secured broker's holds its SCRAM password
  writeLog4j(log4j);
  return { props, log4j };
}

/** The broker's log settings: warnings, and its start and stop lines. */
export function writeLog4j(file: string): void {
  writeFileSync(file, [
    'log4j.rootLogger=WARN, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.server.KafkaServer=INFO',
    'log4j.logger.kafka.server.BrokerServer=INFO',
    '',
  ].join('\n'));
}

/** The KRaft cluster id kept in `idFile`, made once with Kafka's StorageTool. */
export async function kafkaClusterId(java: string, classpath: string, idFile: string): Promise<string> {
  if (!existsSync(idFile)) {
    const { stdout } = await run(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
    writeFileSync(idFile, stdout.trim().split('\n').pop()!.trim());
  }
  return readFileSync(idFile, 'utf8').trim();
}

/** Formats a node's storage for the cluster id (a folder formatted earlier is kept as it is). */
export async function formatKafkaStorage(java: string, classpath: string, files: { props: string; log4j: string }, clusterId: string, extra: string[] = []): Promise<void> {
  await run(java, [`-Dlog4j.configuration=file:${files.log4j}`, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-c', files.props, '-t', clusterId, '--ignore-formatted', ...extra]);
}

/** The broker JVM's arguments: a serial GC and a bounded heap, as the machine is shared with the rest of the stack. */
export function kafkaJvmArgs(files: { props: string; log4j: string }, classpath: string, heap = '768m'): string[] {
  return ['-Xms256m', `-Xmx${heap}`, '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${files.log4j}`, '-cp', classpath, 'kafka.Kafka', files.props];
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

/** Every partition of the topics has a leader, as the broker the admin asks sees them. */
async function leadersKnown(admin: Admin, topics: string[]): Promise<boolean> {
  const { topics: described } = await admin.fetchTopicMetadata({ topics });
  return described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
}

/**
 * The new topics are usable: on one broker, as it sees them; on several, as each one sees them (the
 * metadata reaches the brokers one after the other, and a client asking a broker that does not
 * know a topic yet is answered UNKNOWN_TOPIC_OR_PARTITION).
 */
async function topicsLed(cfg: Config, admin: Admin, topics: string[]): Promise<boolean> {
  if (cfg.kafka.brokers.length === 1) return leadersKnown(admin, topics);
  for (const broker of cfg.kafka.brokers) {
    const one = createKafka({ kafka: { ...cfg.kafka, brokers: [broker] } }, { clientId: 'provisioner-admin', retries: 0 }).admin();
    try {
      await one.connect();
      if (!(await leadersKnown(one, topics))) return false;
    } finally {
      await one.disconnect().catch(() => undefined);
    }
  }
  return true;
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
        // kafkajs' own wait gives up on a broker that does not know the topic yet (a broker just
        // started answers UNKNOWN_TOPIC_OR_PARTITION for a moment): wait here, for every leader.
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: cfg.kafka.partitions,
          replicationFactor: cfg.kafka.replicationFactor,
          ...(cfg.kafka.minInsyncReplicas ? { configEntries: [{ name: 'min.insync.replicas', value: String(cfg.kafka.minInsyncReplicas) }] } : {}),
        })),
      });
      await waitFor('kafka: the new topics\' leaders', () => topicsLed(cfg, admin, missing), { timeoutMs: 30_000, intervalMs: 200 });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

export async function kafkaUp(cfg: Config, report: Reporter): Promise<void> {
  const where = cfg.kafka.brokers.join(',');
  // Before the first health check: the client reads the password file the stack makes.
  const user = cfg.stack.secure ? scramUser(cfg) : undefined;
  if (await kafkaHealthy(cfg)) {
    report(`kafka: reusing the healthy broker at ${where}`);
  } else if (cfg.kafka.external) {
    throw new Error(`kafka: KAFKA_BROKERS=${where} is not reachable; start that broker or unset KAFKA_BROKERS to let the stack run one`);
  } else {
    const libs = await obtainLibs(cfg, report);
    const java = javaBinary();
    const dir = path.join(cfg.dataDir, NAME);
    mkdirSync(dir, { recursive: true });
    const files = writeServerConfig(cfg, dir, user);
    const classpath = `${libs}/*`;
    const clusterId = await kafkaClusterId(java, classpath, path.join(dir, 'cluster-id'));
    // The SCRAM user is written into the cluster metadata at format time (KRaft), so the broker
    // starts secured with no step after it; a folder formatted earlier keeps its users. The
    // password reaches the tool in an argument file (StorageTool's `@file`: one argument a line,
    // owner-only, removed after), never on the command line, where ps and a failed run's one line
    // and log would show it.
    const scramArgs = path.join(dir, 'scram.args');
    if (user) {
      // Credentials for both SCRAM mechanisms the listener enables, so either client setting works.
      const credentials = ['SCRAM-SHA-512', 'SCRAM-SHA-256'].map((m) => `--add-scram\n${m}=[name=${user.username},password=${user.password}]`);
      writeFileSync(scramArgs, credentials.join('\n'), { mode: 0o600 });
    }
    try {
      await formatKafkaStorage(java, classpath, files, clusterId, user ? [`@${scramArgs}`] : []);
    } finally {
      rmSync(scramArgs, { force: true });
    }
    const proc = startDetached({
      runDir: cfg.dataDir,
      name: NAME,
      command: java,
      args: kafkaJvmArgs(files, classpath),
    });
    report(`kafka: starting Apache Kafka ${cfg.kafka.version}${user ? ` secured (SASL_SSL, SCRAM-SHA-512/256 user "${user.username}")` : ''} (pid ${proc.pid}, log ${proc.logFile})`);
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
  // A secured stack never started has no password file yet: its broker is simply not healthy.
  const healthy = await kafkaHealthy(cfg).catch(() => false);
  return { name: NAME, where: cfg.kafka.brokers.join(','), managed: !cfg.kafka.external, pid, healthy };
}
