// The local three-broker cluster (`stack up --cluster`) keeps taking acks=all writes with one broker
// SIGKILLed (replication factor 3, min.insync.replicas 2), and the broker, restarted, rejoins every
// partition's in-sync replicas: the fault the failover drills inject (issue 21). Then the
// broker-kill drill on it (`provisioner drill run broker-kill`: started by the drill when it is not
// up, stopped again afterwards), and the same drill on topics of one copy, which the drill fails.
// One file, so the suite never runs two of them against the one cluster at once.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_STACK_CONFIG, loadConfig, projectRoot } from '../../schemas/config.js';
import { ConfigResourceTypes, createKafka, type Admin, type Producer } from '../../kafka/client.js';
import { ensureTopics } from '../../stack/kafka.js';
import { kafkaClusterDown, kafkaClusterHealthy, kafkaClusterUp, liveKafkaNodeIds, startKafkaNode, stopKafkaNode } from '../../stack/kafka-cluster.js';
import { isAlive, waitFor } from '../../stack/processes.js';
import { uniqueName } from '../helpers/unique.js';
import { runDrill } from '../../drills/run-drill.js';
import { brokerKill } from '../../drills/scenarios/broker-kill.js';
import type { Config } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

// The cluster's own file; KAFKA_* in the environment (the plain stack's broker) would override its brokers.
const cfg = loadConfig({
  file: path.join(projectRoot, CLUSTER_STACK_CONFIG),
  env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KAFKA_'))),
});
const report = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
const topic = uniqueName('cluster');
const PARTITIONS = 3;

let startedHere = false;
let killed: number | undefined;
let admin: Admin;
let producer: Producer;

async function partitions() {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions;
}

/** Sends `count` keyed messages with acks=all, each batch acknowledged by min.insync.replicas copies. */
async function produce(label: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${label}-${i}`);
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `E${i}`, value })) });
  return values;
}

/**
 * Reads the topic from the beginning with a new consumer group until every expected value is in;
 * returns the distinct values read (a rebalance may deliver one twice: at least once).
 */
async function consumeAll(expected: string[]): Promise<string[]> {
  const consumer = createKafka(cfg).consumer({ groupId: uniqueName('cluster-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${expected.length} messages in 60 s`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(message.value!.toString());
          if (expected.every((v) => seen.has(v))) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return [...seen];
}

// After the drills too: a cluster this file started stays up for them, then goes.
afterAll(async () => {
  if (startedHere) await kafkaClusterDown(cfg);
}, 120_000);

describe('the local three-broker Kafka cluster', () => {
  beforeAll(async () => {
    startedHere = !(await kafkaClusterHealthy(cfg));
    await kafkaClusterUp(cfg, report);
    await ensureTopics({ ...cfg, kafka: { ...cfg.kafka, partitions: PARTITIONS } }, [topic]);
    const kafka = createKafka(cfg, { retries: 10 });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    // A broker this test killed comes back, so a cluster it found running is left as it was.
    if (killed !== undefined && !startedHere) await startKafkaNode(cfg, killed, report);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('creates the topics with three copies of each partition and min.insync.replicas 2', async () => {
    expect(await liveKafkaNodeIds(cfg)).toEqual([1, 2, 3]);
    const described = await partitions();
    expect(described).toHaveLength(PARTITIONS);
    for (const p of described) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.isr).toHaveLength(3);
    }
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
    });
    expect(resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');
  });

  it('keeps producing and consuming with acks=all while one broker is SIGKILLed, and the broker rejoins the ISR when restarted', async () => {
    const before = await produce('before', 20);
    // The broker that leads partition 0: its partitions must move to another leader.
    const victim = (await partitions()).find((p) => p.partitionId === 0)!.leader;
    const pid = await stopKafkaNode(cfg, victim, 'SIGKILL');
    killed = victim;
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid!)).toBe(false);

    // The controller fences the dead broker (its session times out): two copies left in sync,
    // exactly min.insync.replicas, and no partition led by it.
    await waitFor('the killed broker out of every ISR', async () => {
      const now = await partitions();
      return now.every((p) => p.isr.length === 2 && !p.isr.includes(victim) && p.leader !== victim && p.leader >= 0);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const survivors = [1, 2, 3].filter((id) => id !== victim);
    // The brokers' metadata follows the controller's a moment later.
    await waitFor('the cluster to list two brokers', async () => (await liveKafkaNodeIds(cfg)).join() === survivors.join(), { timeoutMs: 30_000, intervalMs: 500 });

    const during = await produce('during', 20);
    expect((await consumeAll([...before, ...during])).sort()).toEqual([...before, ...during].sort());

    await startKafkaNode(cfg, victim, report);
    killed = undefined;
    await waitFor('the restarted broker back in every ISR', async () => (await partitions()).every((p) => p.isr.length === 3), { timeoutMs: 90_000, intervalMs: 500 });
    await waitFor('the cluster to list three brokers', async () => (await liveKafkaNodeIds(cfg)).join() === '1,2,3', { timeoutMs: 30_000, intervalMs: 500 });
    const after = await produce('after', 20);
    expect((await consumeAll([...before, ...during, ...after])).sort()).toEqual([...before, ...during, ...after].sort());
  });
});

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const SMALL = { joiners: 12, rate: 4, seed: 3, workers: 1, ingresses: 1 };

describe('drill broker-kill', () => {
  it('passes: a leader killed and restarted, its leaderships moved, the ISRs shrank to two and grew back, zero lost', async () => {
    const report = await runDrill(loadConfig(), logger, brokerKill, SMALL);
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.evidence.copiesPerPartition).toBe(3);
    expect(Number(report.evidence.partitionsItLed)).toBeGreaterThan(0);
    expect(report.evidence.leadershipsMoved).toBe(report.evidence.partitionsItLed);
    expect(report.evidence.smallestIsr).toBe(2);
    // The cluster said which broker coordinates the ingress group (the drill kills it when it can).
    expect(typeof report.evidence.ingressGroupCoordinator).toBe('number');
    expect(report.faultHit).toBe(true);
    // Three checks, and a fourth when the old coordinator refused a commit (the wait to re-join).
    expect(Object.values(report.checks ?? {}).length).toBe(Number(report.evidence.commitsRefusedByOldCoordinator) > 0 ? 4 : 3);
    expect(Object.values(report.checks ?? {}).every(Boolean)).toBe(true);
    expect(report.passed).toBe(true);
  }, 300_000);

  // The pipeline's topics created with one copy (a configuration of the pipeline): nobody can take
  // over what the killed broker led, so its partitions are offline until it is back. The feed's
  // sends to them wait (nothing is lost once the broker returns), and the drill fails its checks.
  it('fails on topics of one copy: the killed broker\'s partitions had no leader while it was down', async () => {
    const oneCopy = {
      ...brokerKill,
      prepare: async (base: Config, say: (line: string) => void) => {
        const prepared = await brokerKill.prepare!(base, say);
        return { ...prepared, base: { ...prepared.base, kafka: { ...prepared.base.kafka, replicationFactor: 1, minInsyncReplicas: 1 } } };
      },
    };
    const report = await runDrill(loadConfig(), logger, oneCopy, SMALL);
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.evidence.copiesPerPartition).toBe(1);
    expect(report.faultHit).toBe(true);
    expect(report.evidence.leadershipsMoved).toBe(0);
    expect(report.checks?.['every leadership the killed broker held moved to a live broker while it was down']).toBe(false);
    expect(report.checks?.['no in-sync replica set fell below min.insync.replicas (2)']).toBe(false);
    expect(report.passed).toBe(false);
  }, 300_000);
});
