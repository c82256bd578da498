// A second pipeline beside the first takes one config file (examples/second-pipeline.yaml): every
// name it yields differs from the default configuration's, and a worker and an ingress started
// from it poll its own task queue in its own namespace and join its own consumer group.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../kafka/client.js';
import { dlqTopicOf } from '../../ingress/dead-letters.js';
import { startIngress } from '../../runtime/ingress.js';
import { grantSweepScheduleId } from '../../runtime/grant-sweep-schedule.js';
import { createProvisioningWorker } from '../../runtime/worker.js';
import { loadAppsFile } from '../../targets/apps-file.js';
import { loadConnectorsFile } from '../../connectors/config.js';
import { databaseUrl, ldapOus, loadConfig, projectRoot, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { seedDirectory } from '../../stack/slapd.js';
import { ensureNamespace, ensureSearchAttributes } from '../../stack/temporal.js';
import { fenceWorkflowId } from '../../workflows/fence-messages.js';
import { eventually, logger } from '../helpers/pipeline.js';
import { connectTemporal } from '../../clients/temporal-connection.js';

const exampleFile = path.join(projectRoot, 'examples', 'second-pipeline.yaml');
// The servers' addresses come from the environment, as for the first pipeline; a config file does not.
const { PROVISIONER_CONFIG: _ignored, ...env } = process.env;
const first = loadConfig({ env });
const second = loadConfig({ env, file: exampleFile });

/** Every name two pipelines on the same servers must not share, by what it names. */
function names(cfg: Config): Record<string, string | number> {
  const apps = loadAppsFile(cfg.apps.file, { root: projectRoot, env: {} });
  const ous = ldapOus(cfg);
  return {
    'topic hr.lifecycle': cfg.kafka.topics.hrLifecycle,
    'topic hr.lifecycle dead letters': dlqTopicOf(cfg.kafka.topics.hrLifecycle),
    'topic itsm.requests': cfg.kafka.topics.itsmRequests,
    'topic itsm.requests dead letters': dlqTopicOf(cfg.kafka.topics.itsmRequests),
    'topic outcomes': cfg.kafka.topics.outcomes,
    'topic audit': cfg.kafka.topics.audit,
    'group hr ingress': cfg.kafka.groups.hrIngress,
    'group itsm ingress': cfg.kafka.groups.itsmIngress,
    'group dlq redrive': cfg.kafka.groups.dlqRedrive,
    'temporal namespace': cfg.temporal.namespace,
    'task queue': cfg.temporal.taskQueue,
    'fence workflow': fenceWorkflowId(cfg.temporal.taskQueue),
    'store schema': cfg.postgres.schema,
    'data folder': cfg.dataDir,
    'audit checkpoints': cfg.audit.checkpointsFile,
    'worker port': cfg.http.workerPort,
    'ingress port': cfg.http.ingressPort,
    'dev port': cfg.http.devPort,
    'api port': cfg.http.apiPort,
    ...Object.fromEntries(apps.flatMap((a) => [[`app ${a.name} port`, a.port], [`app ${a.name} state file`, a.stateFile ?? `(memory) ${a.name}`]])),
    // How its worker reaches those apps: their URLs and token files.
    ...Object.fromEntries(loadConnectorsFile(cfg.connectors.file).flatMap((c) => (c.type === 'scim' ? [[`connector ${c.app} url`, c.baseUrl], [`connector ${c.app} token`, JSON.stringify(c.auth)]] : []))),
    'ldap people': ous.people,
    'ldap groups': ous.groups,
    'ldap disabled': ous.disabled,
  };
}

describe('a second pipeline from examples/second-pipeline.yaml', () => {
  it('yields a name of its own for every topic, group, queue, namespace, schema, folder, port and OU', () => {
    const ours = names(second);
    const theirs = names(first);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    const shared = Object.keys(ours).filter((k) => ours[k] === theirs[k]);
    expect(shared).toEqual([]);
    // Nor does any of its names stand for something else of the first (its API port as their worker port, say).
    const theirValues = new Set(Object.values(theirs));
    expect(Object.entries(ours).filter(([, v]) => theirValues.has(v))).toEqual([]);
    // And every name it sets is its own: nothing from the example was dropped on the way.
    expect(second.kafka.groups.hrIngress).toBe('provisioner-second-ingress');
    expect(second.dataDir).toBe(path.join(projectRoot, '.provisioner-second'));
  });

  describe('started beside the first', () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    it('polls its own task queue in its own namespace and joins its own consumer groups', async () => {
      // Its data folder in a temporary one: the test writes no keys into the checkout.
      const dataDir = mkdtempSync(path.join(tmpdir(), 'second-pipeline-'));
      const cfg: Config = { ...second, dataDir, audit: { ...second.audit, checkpointsFile: path.join(dataDir, 'audit', 'checkpoints.jsonl') } };

      // What `stack up` does for it on servers that already run: its namespace, topics and OUs.
      await ensureNamespace(cfg);
      await eventually('the namespace takes search attributes', async () => ((await ensureSearchAttributes(cfg)), true), 30_000);
      const createdTopics = await ensureTopics(cfg);
      const kafka = createKafka(cfg, { clientId: 'second-pipeline-test' });
      const admin = kafka.admin();
      await admin.connect();
      cleanups.push(() => admin.disconnect());
      if (createdTopics.length > 0) cleanups.push(() => admin.deleteTopics({ topics: createdTopics }));
      const groups = [cfg.kafka.groups.hrIngress, cfg.kafka.groups.itsmIngress];
      const { groups: before } = await admin.describeGroups(groups);
      const newGroups = before.filter((g) => g.state === 'Dead').map((g) => g.groupId);
      if (newGroups.length > 0) cleanups.push(() => admin.deleteGroups(newGroups));
      const createdOus = await seedDirectory(cfg);
      cleanups.push(async () => {
        const ldap = new LdapClient({ url: cfg.ldap.url });
        await ldap.bind(cfg.ldap.bindDn, cfg.ldap.bindPassword);
        for (const dn of [...createdOus].reverse()) await ldap.del(dn).catch(() => undefined);
        await ldap.unbind();
      });
      const db = new pg.Client({ connectionString: databaseUrl(cfg) });
      await db.connect();
      const schemaExisted = (await db.query('select 1 from information_schema.schemata where schema_name = $1', [cfg.postgres.schema])).rowCount === 1;
      cleanups.push(async () => {
        if (!schemaExisted) await db.query(`drop schema if exists ${cfg.postgres.schema} cascade`);
        await db.end();
      });

      const worker = await createProvisioningWorker(cfg, logger);
      cleanups.push(() => worker.shutdown());
      const ingress = await startIngress(cfg, logger);
      cleanups.push(() => ingress.shutdown());
      cleanups.push(() => ingress.client.schedule.getHandle(grantSweepScheduleId(cfg.temporal.taskQueue)).delete().catch(() => undefined));

      // Its store is its own schema, migrated by its worker.
      expect((await db.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [cfg.postgres.schema, 'schema_migrations'])).rowCount).toBe(1);
      // Its LDAP OUs exist below the shared base.
      const ldap = new LdapClient({ url: cfg.ldap.url });
      await ldap.bind(cfg.ldap.bindDn, cfg.ldap.bindPassword);
      for (const dn of Object.values(ldapOus(cfg))) expect((await ldap.search(dn, { scope: 'base' })).searchEntries).toHaveLength(1);
      await ldap.unbind();
      // Its worker polls its queue in its namespace.
      const connection = await connectTemporal(cfg);
      cleanups.push(() => connection.close());
      await eventually('a poller on the second task queue', async () => {
        const described = await connection.workflowService.describeTaskQueue({ namespace: cfg.temporal.namespace, taskQueue: { name: cfg.temporal.taskQueue }, taskQueueType: 1 });
        return (described.pollers?.length ?? 0) > 0 ? true : undefined;
      });
      // Its ingress consumes its topics in its groups.
      await eventually('the ingress consuming', async () => (ingress.consumer.isReady() ? true : undefined));
      const { groups: after } = await admin.describeGroups(groups);
      for (const group of after) {
        expect(group.state).toBe('Stable');
        expect(group.members.length).toBeGreaterThan(0);
      }
    }, 300_000);
  });
});
