// The three-broker Kafka cluster the drills run on (`stack up --cluster`, examples/cluster-stack.yaml),
// as production runs a replicated Kafka: the drill's topics get three copies and min.insync.replicas
// 2. A drill that finds the cluster down starts it, and stops it again when it ends.
import path from 'node:path';
import { CLUSTER_STACK_CONFIG, loadConfig, projectRoot, type Config } from '../schemas/config.js';
import { kafkaClusterDown, kafkaClusterHealthy, kafkaClusterUp } from '../stack/kafka-cluster.js';

/** The cluster's configuration (its brokers, its data folder), without KAFKA_BROKERS overriding them. */
export function clusterConfig(): Config {
  const { KAFKA_BROKERS: _ignored, ...env } = process.env;
  return loadConfig({ file: path.join(projectRoot, CLUSTER_STACK_CONFIG), env });
}

/** `base` pointed at the cluster (started when it is not up), and the undo that stops a cluster started here. */
export async function onCluster(base: Config, say: (line: string) => void): Promise<{ base: Config; undo(): Promise<void> }> {
  const cluster = clusterConfig();
  let started = false;
  if (await kafkaClusterHealthy(cluster)) {
    say(`drill: the three-broker cluster is up (${cluster.kafka.brokers.join(',')})`);
  } else {
    say(`drill: the three-broker cluster is not up: starting it as \`stack up --cluster\` does (${cluster.kafka.brokers.join(',')}); stopped again afterwards`);
    try {
      await kafkaClusterUp(cluster, say);
    } catch (err) {
      // Nodes that did start would outlive the drill.
      await kafkaClusterDown(cluster).catch(() => undefined);
      throw err;
    }
    started = true;
  }
  const { brokers, replicationFactor, minInsyncReplicas, controllerPort } = cluster.kafka;
  return {
    base: { ...base, kafka: { ...base.kafka, brokers, replicationFactor, minInsyncReplicas, controllerPort } },
    async undo() {
      if (!started) return;
      await kafkaClusterDown(cluster);
      say('drill: stopped the three-broker cluster it started');
    },
  };
}
