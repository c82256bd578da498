// A local Apache Kafka cluster in KRaft mode: one node per configured broker (three in
// examples/cluster-stack.yaml), each broker and controller, with its own ports, data folder, log and
// pid file, from the same Maven Central jars as the single broker. The failover drills kill and
// restart one node by its id (stopKafkaNode, startKafkaNode).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics, formatKafkaStorage, javaBinary, kafkaClusterId, kafkaJvmArgs, obtainLibs, replicationProperties, writeLog4j } from './kafka.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import type { Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const DIR = 'kafka-cluster';
/** Each node's heap: three JVMs share the machine with the rest of the stack. */
const NODE_HEAP = '512m';

export type KafkaNode = {
  /** KRaft node.id, from 1. */
  id: number;
  /** host:port of its client listener (kafka.brokers[id - 1]). */
  address: string;
  controllerPort: number;
  /** Its pid file's and log's name, and its `stack status` row. */
  name: string;
  dir: string;
};

/** The stack runs a cluster, not a single broker, when it manages the brokers and more than one is configured. */
export function isLocalKafkaCluster(cfg: Config): boolean {
  return !cfg.kafka.external && cfg.kafka.brokers.length > 1;
}

/** The cluster's nodes: node n serves kafka.brokers[n - 1], its controller on kafka.controllerPort + n - 1. */
export function kafkaNodes(cfg: Config): KafkaNode[] {
  return cfg.kafka.brokers.map((address, i) => ({
    id: i + 1,
    address,
    controllerPort: cfg.kafka.controllerPort + i,
    name: `kafka-${i + 1}`,
    dir: path.join(cfg.dataDir, DIR, `node-${i + 1}`),
  }));
}

function kafkaNode(cfg: Config, id: number): KafkaNode {
  const node = kafkaNodes(cfg).find((n) => n.id === id);
  if (!node) throw new Error(`kafka: the cluster has no node ${id} (nodes 1 to ${cfg.kafka.brokers.length})`);
  return node;
}

/** The node's server.properties: the quorum of every node's controller, replication as configured. */
function writeNodeConfig(cfg: Config, node: KafkaNode): { props: string; log4j: string } {
  const nodes = kafkaNodes(cfg);
  const [host, port] = node.address.split(':') as [string, string];
  mkdirSync(node.dir, { recursive: true });
  const props = path.join(node.dir, 'server.properties');
  const log4j = path.join(node.dir, 'log4j.properties');
  writeFileSync(props, [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${nodes.map((n) => `${n.id}@${host}:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${path.join(node.dir, 'data')}`,
    ...replicationProperties(cfg, cfg.kafka.partitions),
    '',
  ].join('\n'));
  writeLog4j(log4j);
  return { props, log4j };
}

/** The node ids that the metadata of the broker at `address` lists as live brokers; undefined when it does not answer. */
async function liveNodeIdsVia(cfg: Config, address: string): Promise<number[] | undefined> {
  // A few retries: until the controller fences a dead node (about 9 s), the metadata still lists it,
  // and kafkajs may pick it for the request (connection refused at once, then another node).
  const admin = createKafka({ kafka: { ...cfg.kafka, brokers: [address] } }, { clientId: 'provisioner-health', connectionTimeout: 1500, retries: 3 }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The node ids the cluster's metadata lists as live brokers, asked of each node in turn until one answers ([] when none does). */
export async function liveKafkaNodeIds(cfg: Config): Promise<number[]> {
  for (const address of cfg.kafka.brokers) {
    const ids = await liveNodeIdsVia(cfg, address);
    if (ids) return ids;
  }
  return [];
}

const nodeAlive = (cfg: Config, node: KafkaNode) => () => readLivePid(pidFile(cfg.dataDir, node.name)) !== undefined;

/**
 * Healthy: its process runs (a node just killed is still listed until the controller fences it),
 * it answers on its own listener, and the cluster lists it as a live broker.
 */
async function nodeHealthy(cfg: Config, node: KafkaNode): Promise<boolean> {
  return nodeAlive(cfg, node)() && ((await liveNodeIdsVia(cfg, node.address))?.includes(node.id) ?? false);
}

/** Every node is healthy (a restarted one answers on its own listener, not only in the others' metadata). */
export async function kafkaClusterHealthy(cfg: Config): Promise<boolean> {
  return (await Promise.all(kafkaNodes(cfg).map((n) => nodeHealthy(cfg, n)))).every(Boolean);
}

/** Starts one node's JVM when it is not running (its storage formatted for the cluster id first); returns its pid. */
async function launchNode(cfg: Config, node: KafkaNode, report: Reporter): Promise<number> {
  const running = readLivePid(pidFile(cfg.dataDir, node.name));
  if (running !== undefined) return running;
  const classpath = `${await obtainLibs(cfg, report)}/*`;
  const java = javaBinary();
  mkdirSync(path.join(cfg.dataDir, DIR), { recursive: true });
  const clusterId = await kafkaClusterId(java, classpath, path.join(cfg.dataDir, DIR, 'cluster-id'));
  const files = writeNodeConfig(cfg, node);
  await formatKafkaStorage(java, classpath, files, clusterId);
  const proc = startDetached({ runDir: cfg.dataDir, name: node.name, command: java, args: kafkaJvmArgs(files, classpath, NODE_HEAP) });
  report(`kafka: starting node ${node.id} on ${node.address} (pid ${proc.pid}, log ${proc.logFile})`);
  return proc.pid;
}

/**
 * Starts the nodes that are not running (idempotent: running ones are left alone), waits until the
 * cluster lists every one as a live broker, then creates the missing topics with
 * kafka.replicationFactor copies and kafka.minInsyncReplicas.
 */
export async function kafkaClusterUp(cfg: Config, report: Reporter): Promise<void> {
  if (cfg.stack.secure) throw new Error('kafka: the local cluster runs plain (PLAINTEXT on loopback); the secured stack has one broker (examples/secure-stack.yaml)');
  const nodes = kafkaNodes(cfg);
  const where = cfg.kafka.brokers.join(',');
  if (await kafkaClusterHealthy(cfg)) {
    report(`kafka: reusing the healthy ${nodes.length}-broker cluster at ${where}`);
  } else {
    // The controllers need a majority of the quorum before any broker registers: start every node, then wait.
    for (const node of nodes) await launchNode(cfg, node, report);
    await waitFor(`kafka: the ${nodes.length}-broker cluster`, () => kafkaClusterHealthy(cfg), {
      timeoutMs: 120_000,
      intervalMs: 500,
      alive: () => nodes.every((n) => nodeAlive(cfg, n)()),
      logFile: path.join(cfg.dataDir, 'logs', `kafka-{${nodes.map((n) => n.id).join(',')}}.log`),
    });
  }
  const created = await ensureTopics(cfg);
  report(`kafka: ${nodes.length} brokers on ${where}; topics ${created.length > 0 ? `created: ${created.join(', ')}` : 'present'} (${cfg.kafka.partitions} partitions, replication factor ${cfg.kafka.replicationFactor}, min.insync.replicas ${cfg.kafka.minInsyncReplicas ?? 'the brokers\' default'})`);
}

/** Stops every node the stack started (by its pid file); true when any was running. */
export async function kafkaClusterDown(cfg: Config): Promise<boolean> {
  const stopped = await Promise.all(kafkaNodes(cfg).map((node) => stopByPidFile(pidFile(cfg.dataDir, node.name), 30_000)));
  return stopped.some(Boolean);
}

/** One row per node: its pid, and whether it answers and is a live broker of the cluster. */
export async function kafkaClusterStatus(cfg: Config): Promise<ServerStatus[]> {
  return Promise.all(kafkaNodes(cfg).map(async (node) => ({
    name: node.name,
    where: `${node.address} (controller ${node.controllerPort})`,
    managed: true,
    pid: readLivePid(pidFile(cfg.dataDir, node.name)),
    healthy: await nodeHealthy(cfg, node),
  })));
}

/**
 * Stops one node by its pid: SIGTERM (a controlled shutdown: leadership moves first) or SIGKILL
 * (a crash: the controller fences it after the broker session timeout). Returns the pid it stopped,
 * undefined when the node was not running.
 */
export async function stopKafkaNode(cfg: Config, id: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | undefined> {
  const file = pidFile(cfg.dataDir, kafkaNode(cfg, id).name);
  const pid = readLivePid(file);
  if (pid === undefined) return undefined;
  await stopByPidFile(file, 30_000, signal);
  return pid;
}

/** Starts one node again (or leaves it running) and waits until the cluster lists it as a live broker; returns its pid. */
export async function startKafkaNode(cfg: Config, id: number, report: Reporter): Promise<number> {
  const node = kafkaNode(cfg, id);
  const pid = await launchNode(cfg, node, report);
  await waitFor(`kafka node ${id}`, () => nodeHealthy(cfg, node), {
    timeoutMs: 90_000,
    intervalMs: 500,
    alive: nodeAlive(cfg, node),
    logFile: path.join(cfg.dataDir, 'logs', `${node.name}.log`),
  });
  return pid;
}
