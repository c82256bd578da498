// docker-compose.yml runs the topology of the local stack (issue 21): the test reads it and checks it
// against the configuration schema's defaults and the stack's own settings (ports, topics and
// partitions, replication, Temporal's flags and search attributes, slapd's overlays), so a change
// to one that forgets the other fails here. Docker is not needed: nothing is run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import protos from '@temporalio/proto';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CLUSTER_STACK_CONFIG, databaseUrl, LDAP_DEV_BIND_PASSWORD, loadConfig, projectRoot } from '../../schemas/config.js';
import { kafkaTopics, replicationProperties } from '../../stack/kafka.js';
import { kafkaNodes } from '../../stack/kafka-cluster.js';
import { writeSlapdConf } from '../../stack/slapd.js';
import { DYNAMIC_CONFIG, SQLITE_PRAGMAS, searchAttributes, uiCodecEndpoint } from '../../stack/temporal.js';

type Service = {
  image?: string;
  build?: string;
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string | number>;
  command?: string[];
};

const compose = parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

// The defaults (no file, no variable: a folder without provisioner.yaml), and the cluster's file.
const root = mkdtempSync(path.join(tmpdir(), 'compose-'));
const cfg = loadConfig({ env: {}, root });
const clusterCfg = loadConfig({ env: {}, root, file: path.join(projectRoot, CLUSTER_STACK_CONFIG) });

/** The loopback port a service publishes for a container port. */
function published(s: Service, containerPort: number): number | undefined {
  for (const mapping of s.ports ?? []) {
    const [host, hostPort, inside] = mapping.split(':');
    if (Number(inside) === containerPort && host === '127.0.0.1') return Number(hostPort);
  }
  return undefined;
}

/** A Kafka container's settings as server.properties lines (KAFKA_FOO_BAR: x is foo.bar=x). */
function brokerProperties(s: Service): Set<string> {
  return new Set(Object.entries(s.environment ?? {}).flatMap(([name, value]) =>
    name.startsWith('KAFKA_') ? [`${name.slice('KAFKA_'.length).toLowerCase().replaceAll('_', '.')}=${value}`] : []));
}

const listener = (s: Service, setting: string, name: string) =>
  String(s.environment?.[setting]).split(',').find((l) => l.startsWith(`${name}://`))?.slice(name.length + 3);

/** The topics a topic-creating service makes: their names, partitions, copies and topic configs. */
function createdTopics(s: Service) {
  const script = s.command!.join('\n');
  return {
    topics: /for topic in ([^;]+);/.exec(script)![1]!.trim().split(/\s+/),
    partitions: Number(/--partitions (\d+)/.exec(script)![1]),
    replicationFactor: Number(/--replication-factor (\d+)/.exec(script)![1]),
    configs: [...script.matchAll(/--config (\S+)/g)].map((m) => m[1]),
  };
}

/** A command's values for a repeated flag (`--flag value`). */
function flagValues(command: string[], flag: string): string[] {
  return command.flatMap((arg, i) => (arg === flag ? [command[i + 1]!] : []));
}

const { IndexedValueType } = protos.temporal.api.enums.v1;
/** The Temporal CLI's names of the search attribute types (`temporal server start-dev --search-attribute`). */
const cliTypeNames = new Map<number, string>([
  [IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, 'Keyword'],
  [IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST, 'KeywordList'],
  [IndexedValueType.INDEXED_VALUE_TYPE_TEXT, 'Text'],
  [IndexedValueType.INDEXED_VALUE_TYPE_INT, 'Int'],
  [IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE, 'Double'],
  [IndexedValueType.INDEXED_VALUE_TYPE_BOOL, 'Bool'],
  [IndexedValueType.INDEXED_VALUE_TYPE_DATETIME, 'Datetime'],
]);

describe('docker-compose.yml', () => {
  it('publishes the servers where the default configuration looks for them, and the schema takes those addresses', () => {
    const kafka = service('kafka');
    const advertised = listener(kafka, 'KAFKA_ADVERTISED_LISTENERS', 'PLAINTEXT')!;
    const temporalPort = published(service('temporal'), 7233);
    const fromCompose = loadConfig({
      root,
      env: {
        KAFKA_BROKERS: advertised,
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${published(service('postgres'), 5432)}/${service('postgres').environment!.POSTGRES_DB}`,
        LDAP_URL: `ldap://127.0.0.1:${published(service('slapd'), 3890)}`,
      },
    });
    expect(fromCompose.kafka.brokers).toEqual(cfg.kafka.brokers);
    expect(published(kafka, Number(advertised.split(':')[1]))).toBe(Number(cfg.kafka.brokers[0]!.split(':')[1]));
    expect(fromCompose.temporal.address).toBe(cfg.temporal.address);
    expect(published(service('temporal'), 8233)).toBe(cfg.temporal.uiPort);
    // As the local stack's: the superuser without a password, so the default URL needs no variable.
    expect(databaseUrl(fromCompose)).toBe(databaseUrl(cfg));
    expect(service('postgres').environment!.POSTGRES_HOST_AUTH_METHOD).toBe('trust');
    expect(fromCompose.ldap.url).toBe(cfg.ldap.url);
  });

  it('runs the Kafka version of the configuration, one broker replicated and partitioned as stack up runs it', () => {
    const kafka = service('kafka');
    expect(kafka.image).toBe(`apache/kafka:${cfg.kafka.version}`);
    const props = brokerProperties(kafka);
    for (const line of ['node.id=1', 'process.roles=broker,controller', ...replicationProperties(cfg, 1)]) expect(props).toContain(line);
    expect(listener(kafka, 'KAFKA_LISTENERS', 'CONTROLLER')).toBe(`:${cfg.kafka.controllerPort}`);
  });

  it('creates the configured topics with the configured partitions', () => {
    expect(createdTopics(service('kafka-topics'))).toEqual({ topics: kafkaTopics(cfg), partitions: cfg.kafka.partitions, replicationFactor: cfg.kafka.replicationFactor, configs: [] });
  });

  it('runs the three-broker cluster of stack up --cluster: the same nodes, ports and replication', () => {
    const nodes = kafkaNodes(clusterCfg);
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      const s = service(`kafka-${node.id}`);
      expect(s.profiles).toEqual(['cluster']);
      expect(s.image).toBe(`apache/kafka:${clusterCfg.kafka.version}`);
      const props = brokerProperties(s);
      for (const line of [`node.id=${node.id}`, 'process.roles=broker,controller', ...replicationProperties(clusterCfg, clusterCfg.kafka.partitions)]) {
        expect(props, `kafka-${node.id}`).toContain(line);
      }
      expect(listener(s, 'KAFKA_ADVERTISED_LISTENERS', 'PLAINTEXT')).toBe(node.address);
      const port = Number(node.address.split(':')[1]);
      expect(published(s, port)).toBe(port);
      expect(listener(s, 'KAFKA_LISTENERS', 'CONTROLLER')).toBe(`:${node.controllerPort}`);
      expect(s.environment!.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(nodes.map((n) => `${n.id}@kafka-${n.id}:${n.controllerPort}`).join(','));
      // KRaft's cluster id: 16 bytes in base64url, the same on every node.
      expect(Buffer.from(String(s.environment!.CLUSTER_ID), 'base64url')).toHaveLength(16);
      expect(s.environment!.CLUSTER_ID).toBe(service('kafka-1').environment!.CLUSTER_ID);
    }
    expect(createdTopics(service('kafka-cluster-topics'))).toEqual({
      topics: kafkaTopics(clusterCfg),
      partitions: clusterCfg.kafka.partitions,
      replicationFactor: 3,
      configs: [`min.insync.replicas=${clusterCfg.kafka.minInsyncReplicas}`],
    });
    expect(clusterCfg.kafka.minInsyncReplicas).toBe(2);
  });

  it('runs the Temporal dev server with the stack\'s namespace, search attributes, dynamic config and SQLite settings', () => {
    const temporal = service('temporal');
    expect(temporal.image).toBe(`temporalio/temporal:${cfg.temporal.cliVersion.replace(/^v/, '')}`);
    const command = temporal.command!;
    expect(command.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(flagValues(command, '--namespace')).toEqual([cfg.temporal.namespace]);
    expect(flagValues(command, '--port')).toEqual([cfg.temporal.address.split(':')[1]]);
    expect(flagValues(command, '--ui-port')).toEqual([String(cfg.temporal.uiPort)]);
    expect(flagValues(command, '--ui-codec-endpoint')).toEqual([uiCodecEndpoint(cfg)]);
    expect(flagValues(command, '--dynamic-config-value')).toEqual(DYNAMIC_CONFIG);
    expect(flagValues(command, '--sqlite-pragma')).toEqual(SQLITE_PRAGMAS);
    expect(flagValues(command, '--search-attribute')).toEqual(Object.entries(searchAttributes).map(([name, type]) => `${name}=${cliTypeNames.get(type)}`));
  });

  it('runs slapd with the slapd.conf stack up writes: the schemas, the memberof and refint overlays, the indexes', () => {
    const slapd = service('slapd');
    expect(published(slapd, 3890)).toBe(Number(new URL(cfg.ldap.url).port));
    const directives = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    // Only the folders differ (the container's own), and the password's salt.
    const local = (text: string) => directives(text).filter((l) => !/^(pidfile|argsfile|directory|rootpw) /.test(l));
    const composed = readFileSync(path.join(projectRoot, slapd.build!, 'slapd.conf'), 'utf8');
    const written = readFileSync(writeSlapdConf(cfg, path.join(root, 'slapd')), 'utf8');
    expect(local(composed)).toEqual(local(written));
    expect(local(composed)).toEqual(expect.arrayContaining(['moduleload memberof', 'moduleload refint', 'overlay memberof', 'overlay refint', 'refint_attributes member']));
    // The root password is the development one ({SSHA}: SHA-1 of the password and the salt, then the salt).
    const ssha = Buffer.from(directives(composed).find((l) => l.startsWith('rootpw '))!.slice('rootpw {SSHA}'.length), 'base64');
    const digest = createHash('sha1').update(LDAP_DEV_BIND_PASSWORD).update(ssha.subarray(20)).digest();
    expect(ssha.subarray(0, 20).equals(digest)).toBe(true);
  });
});
