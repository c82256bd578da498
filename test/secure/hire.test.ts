// A hire on the secured local stack, end to end: from a SCRAM-authenticated Kafka topic over TLS,
// through a Temporal server that requires client certificates, to SCIM apps over HTTPS and the
// directory over StartTLS, with the store over verified TLS. Then each hop with a wrong credential:
// it fails with one line naming the hop (and never the secret), and the event waiting behind it is
// provisioned once the credential is right again.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as LdapClient } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRetry } from '../../clients/identity.js';
import { createKafka } from '../../kafka/client.js';
import { startIngress } from '../../runtime/ingress.js';
import { createProvisioningWorker } from '../../runtime/worker.js';
import { ldapBindPassword, ldapOus, stackPkiDir, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { devPkiFiles } from '../../stack/dev-pki.js';
import { openStore } from '../../store/open-store.js';
import { queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { secureStackConfig } from '../helpers/secure-stack.js';
import { uniqueName } from '../helpers/unique.js';

const secure = secureStackConfig();
const pki = devPkiFiles(stackPkiDir(secure));
const tmp = mkdtempSync(path.join(tmpdir(), 'secure-hire-'));
/** A copy of the directory's bind password that the test can break and mend: the connector re-reads it on each bind. */
const bindPasswordFile = path.join(tmp, 'ldap-bind-password');
const realBindPassword = ldapBindPassword(secure);
const wrongFile = (name: string, content = 'not-the-password') => {
  const file = path.join(tmp, name);
  writeFileSync(file, `${content}\n`, { mode: 0o600 });
  return file;
};

let p: Pipeline;
let chat: TestScimApp;
beforeAll(async () => {
  writeFileSync(bindPasswordFile, `${realBindPassword}\n`, { mode: 0o600 });
  const config: Config = { ...secure, ldap: { ...secure.ldap, bindPasswordFile } };
  p = await startPipeline({ config, appNames: ['chat', 'code'], https: { certFile: pki.certFile, keyFile: pki.keyFile, caFile: pki.caFile } });
  chat = p.apps[0]!;
});
afterAll(async () => {
  await p?.close();
});

const employee = (tag = 'S') => uniqueName(tag).replaceAll('.', '');
const hire = (id: string) => ({ key: id, value: JSON.stringify(hrEvent(id)) });
const handleOf = (id: string) => p.ingress.client.workflow.getHandle(identityWorkflowId(id));
const stateUntil = (id: string, what: string, ok: (s: IdentityState) => boolean, timeoutMs?: number) =>
  eventually(`${id}: ${what}`, async () => {
    const s = await handleOf(id).query(getState);
    return ok(s) ? s : undefined;
  }, timeoutMs);

async function scimUser(app: TestScimApp, employeeId: string): Promise<{ id: string } | undefined> {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  if (res.status !== 200) throw new Error(`${app.name} answered ${res.status} to the test's read`);
  return res.body.Resources?.[0];
}

/** The person's entry in the directory, read over StartTLS with the development CA as the connector reads it. */
async function directoryEntry(employeeId: string): Promise<Record<string, unknown> | undefined> {
  const client = new LdapClient({ url: secure.ldap.url, timeout: 5000, connectTimeout: 3000 });
  try {
    await client.startTLS({ ca: readFileSync(pki.caFile, 'utf8'), servername: 'localhost' });
    await client.bind(secure.ldap.bindDn, realBindPassword);
    const { searchEntries } = await client.search(ldapOus(secure).people, { scope: 'sub', filter: `(employeeNumber=${employeeId})` });
    return searchEntries[0];
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function provisionedEverywhere(employeeId: string, timeoutMs?: number): Promise<void> {
  await eventually(`${employeeId} in chat, code and the directory`, async () => {
    const [inChat, inCode, inDirectory] = await Promise.all([scimUser(chat, employeeId), scimUser(p.apps[1]!, employeeId), directoryEntry(employeeId)]);
    return inChat && inCode && inDirectory ? true : undefined;
  }, timeoutMs);
}

/** The one line an error shows: its message has no second line and never the secret. */
function oneLine(err: unknown, hop: RegExp, secret: string): string {
  const message = (err as Error).message;
  expect(message).toMatch(hop);
  expect(message).not.toContain('\n');
  expect(message).not.toContain(secret);
  return message;
}

async function refusal(start: () => Promise<unknown>): Promise<unknown> {
  try {
    const started = await start();
    // Started after all: stop it, and fail the test.
    await (started as { shutdown?: () => Promise<void> }).shutdown?.();
  } catch (err) {
    return err;
  }
  throw new Error('started with a wrong credential');
}

describe('a hire on the secured stack', () => {
  it('flows from SASL_SSL Kafka through mTLS Temporal to HTTPS SCIM apps and the StartTLS directory, recorded in the TLS store', async () => {
    const id = employee();
    await p.produce([hire(id)]);
    await provisionedEverywhere(id);
    const state = await stateUntil(id, 'provisioned', (s) => s.status === 'provisioned');
    expect(Object.keys(state.accounts).sort()).toEqual(['chat', 'code', 'directory']);
    // The outcome went out on the secured Kafka, the audit trail into the secured store.
    const outcome = await eventually('the outcome', async () => (await p.read(p.cfg.kafka.topics.outcomes)).find((m) => m.key === id));
    expect(JSON.parse(outcome.value)).toMatchObject({ employeeId: id, status: 'succeeded' });
    const audited = await eventually('the audit records', async () => {
      const records = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: id, limit: 100 });
      return records.length > 0 ? records : undefined;
    });
    expect(audited.map((r) => r.action)).toEqual(expect.arrayContaining(['plan.recorded', 'step.completed']));
  });
});

describe('a wrong credential at each hop fails with one line naming the hop, and nothing is lost', () => {
  it('kafka: an ingress with a wrong SCRAM password does not start; the hire waiting on the topic is provisioned once it is right', async () => {
    const topic = uniqueName('hr.lifecycle.secure');
    await ensureTopics(p.cfg, [topic, `${topic}.dlq`]);
    const cfg: Config = { ...p.cfg, kafka: { ...p.cfg.kafka, topics: { ...p.cfg.kafka.topics, hrLifecycle: topic } } };
    const id = employee('SK');
    const kafka = createKafka(cfg, { clientId: 'secure-hire-test' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [hire(id)] });
    await producer.disconnect();

    const wrong = 'kafka-wrong-password';
    const bad: Config = { ...cfg, kafka: { ...cfg.kafka, sasl: { ...cfg.kafka.sasl!, passwordFile: wrongFile('kafka-password', wrong) } } };
    const err = await refusal(() => startIngress(bad, logger, { taskQueue: p.taskQueue, groupId: uniqueName('ingress-wrong'), itsm: false }));
    oneLine(err, /^kafka: .*localhost:19092/, wrong);

    const ingress = await startIngress(cfg, logger, { taskQueue: p.taskQueue, groupId: uniqueName('ingress-right'), itsm: false });
    try {
      await provisionedEverywhere(id);
    } finally {
      await ingress.shutdown();
    }
  });

  it('temporal: a worker without its client certificate does not start; the hire signalled meanwhile is provisioned by one with it', async () => {
    const id = employee('ST');
    await p.worker.shutdown();
    await p.produce([hire(id)]);
    await eventually(`${id}: its workflow started, with no worker to run it`, async () => ((await handleOf(id).describe()).status.name === 'RUNNING' ? true : undefined));

    const { certFile: _cert, keyFile: _key, ...withoutClientCert } = p.cfg.temporal.tls ?? {};
    const bad: Config = { ...p.cfg, temporal: { ...p.cfg.temporal, tls: withoutClientCert } };
    const err = await refusal(() => createProvisioningWorker(bad, logger, { taskQueue: p.taskQueue, connectorConfigs: p.connectorConfigs, store: p.store }));
    oneLine(err, /^temporal: .*localhost:17233/, readFileSync(pki.clientKeyFile, 'utf8').split('\n')[1]!);

    await p.startWorker();
    await provisionedEverywhere(id);
  });

  it('postgres: a worker with a wrong store password does not start; the hire signalled meanwhile is provisioned by one with the right one', async () => {
    const id = employee('SP');
    await p.worker.shutdown();
    await p.produce([hire(id)]);
    await eventually(`${id}: its workflow started, with no worker to run it`, async () => ((await handleOf(id).describe()).status.name === 'RUNNING' ? true : undefined));

    const wrong = 'postgres-wrong-password';
    const bad: Config = { ...p.cfg, postgres: { ...p.cfg.postgres, passwordFile: wrongFile('postgres-password', wrong) } };
    // The worker opens its own store, as `provisioner worker` does; so does any CLI command.
    oneLine(await refusal(() => createProvisioningWorker(bad, logger, { taskQueue: p.taskQueue, connectorConfigs: p.connectorConfigs })), /^postgres: .*provisioner_app.*localhost:15433/, wrong);
    oneLine(await refusal(() => openStore(bad, { env: {} })), /^postgres: .*provisioner_app.*localhost:15433/, wrong);

    await p.startWorker();
    await provisionedEverywhere(id);
  });

  const chatTokenFile = () => {
    const ref = p.connectorConfigs[0]!.type === 'scim' && p.connectorConfigs[0]!.auth.kind === 'bearer' ? p.connectorConfigs[0]!.auth.token : undefined;
    if (!ref || !('file' in ref)) throw new Error('the test app is configured with a bearer token file');
    return ref.file;
  };
  const hops = [
    { hop: 'ldap', file: () => bindPasswordFile, line: /ldap directory: bind as cn=admin,dc=provisioner,dc=local refused: invalid credentials \(LDAP 49\); check the bind password/ },
    { hop: 'scim', file: chatTokenFile, line: /chat: .* answered 401/ },
  ];
  for (const { hop, file, line } of hops) {
    it(`${hop}: with its credential wrong, the hire waits with the one line as its reason; mended, an operator's retry provisions it`, async () => {
      const real = readFileSync(file(), 'utf8');
      const wrong = `${hop}-wrong-credential`;
      writeFileSync(file(), `${wrong}\n`);
      // A worker started now, as a deployment with the wrong secret would be: its connections bind
      // (or send the token) with what the file holds (a running one keeps its bound LDAP connections).
      await p.worker.shutdown();
      await p.startWorker();
      const id = employee(`S${hop.slice(0, 1).toUpperCase()}`);
      try {
        await p.produce([hire(id)]);
        const waiting = await stateUntil(id, 'the hire waiting for its retry', (s) => s.retry !== undefined, 90_000);
        expect(waiting.accounts).toEqual({});
        const [outcome] = await eventually('the outcome', async () => {
          const found = (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === id).map((m) => JSON.parse(m.value) as { status: string; reason?: string });
          return found.length > 0 ? found : undefined;
        });
        expect(outcome!.status).toBe('action-required');
        expect(outcome!.reason).toMatch(line);
        expect(outcome!.reason).not.toContain(wrong);
      } finally {
        writeFileSync(file(), real);
      }
      const asked = await requestRetry(p.ingress.client, id, { operator: 'E-SECURE-TEST', reason: `${hop} credential mended` });
      expect(asked.waiting).toBeDefined();
      await provisionedEverywhere(id, 90_000);
      await stateUntil(id, 'provisioned after the retry', (s) => s.status === 'provisioned' && s.retry === undefined);
    }, 240_000);
  }
});
