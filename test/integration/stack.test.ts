// The local stack is real: Kafka, Temporal, PostgreSQL and slapd started by the project itself.
import { fileURLToPath } from 'node:url';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { databaseUrl, ldapOus, loadConfig } from '../../schemas/config.js';
import { createKafka } from '../../kafka/client.js';
import { ensureTopics } from '../../stack/kafka.js';
import { uniqueName } from '../helpers/unique.js';
import { existingServerOptions } from '../../clients/temporal-connection.js';

const cfg = loadConfig();

describe('the local stack', () => {
  it('Kafka: a message produced to a new topic is consumed back', async () => {
    const topic = uniqueName('smoke');
    const kafka = createKafka(cfg);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics({ ...cfg, kafka: { ...cfg.kafka, partitions: 2 } }, [topic]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'E1', value: 'hello kafka' }] });
    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(`${message.key}:${message.value}`) });
    });
    expect(received).toBe('E1:hello kafka');
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('Temporal: a workflow runs on the real dev server with an activity', async () => {
    const env = await TestWorkflowEnvironment.createFromExistingServer(existingServerOptions(cfg));
    const taskQueue = uniqueName('smoke');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: cfg.temporal.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./fixtures/echo-workflow.ts', import.meta.url)),
      activities: { shout: async (text: string) => text.toUpperCase() },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('echoWorkflow', { taskQueue, workflowId: uniqueName('echo'), args: [{ text: 'hi' }] }),
    );
    expect(result).toBe('echo: HI');
    await env.teardown();
  });

  it('PostgreSQL: a table is written and read back', async () => {
    const client = new pg.Client({ connectionString: databaseUrl(cfg) });
    await client.connect();
    const table = uniqueName('smoke').replaceAll('-', '_');
    await client.query(`create table ${table} (id int primary key, name text)`);
    await client.query(`insert into ${table} values ($1, $2)`, [1, 'ada']);
    const { rows } = await client.query(`select name from ${table} where id = 1`);
    expect(rows).toEqual([{ name: 'ada' }]);
    await client.query(`drop table ${table}`);
    await client.end();
  });

  it('slapd: binds as the admin and adds, reads and deletes an entry', async () => {
    const client = new LdapClient({ url: cfg.ldap.url });
    await client.bind(cfg.ldap.bindDn, cfg.ldap.bindPassword);
    const uid = uniqueName('smoke');
    const dn = `uid=${uid},${ldapOus(cfg).people}`;
    await client.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: 'Smoke Test', sn: 'Test', employeeNumber: uid });
    const { searchEntries } = await client.search(ldapOus(cfg).people, { filter: `(employeeNumber=${uid})` });
    expect(searchEntries.map((e) => e.dn)).toEqual([dn]);
    await client.del(dn);
    await client.unbind();
  });
});
