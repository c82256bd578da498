// The secured local Kafka (examples/secure-stack.yaml): a SASL_SSL listener with a SCRAM user,
// configured from the settings the clients read. A message goes through it over TLS with SCRAM;
// a wrong password, a client without TLS and a client trusting another CA each fail with the one
// `kafka:` line naming the hop and what to check, with no secret in it. The broker is started here
// if it is not running, and left running for the next file (the integration layer reuses it).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, KafkaConnectionError, type Consumer } from '../../kafka/client.js';
import { projectRoot, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { hrEvent } from '../helpers/hr-events.js';
import { secureStackConfig } from '../helpers/secure-stack.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';

// The secured stack's settings (its global setup brought the broker up).
const cfg = secureStackConfig();
const password = () => readFileSync(cfg.kafka.sasl!.passwordFile!, 'utf8').trim();
const dir = mkdtempSync(path.join(tmpdir(), 'secure-kafka-'));
let otherCa: TestPki;

/** The secured settings with one thing changed, as a person might get it wrong. */
const variant = (kafka: Partial<Config['kafka']>): Pick<Config, 'kafka'> => ({ kafka: { ...cfg.kafka, ...kafka } });

/** The connect's failure: kafkajs tries once, quickly. */
async function connectFailure(settings: Pick<Config, 'kafka'>): Promise<Error> {
  const admin = createKafka(settings, { clientId: 'secure-kafka-test', connectionTimeout: 3000, retries: 0 }).admin();
  try {
    await admin.connect();
  } catch (err) {
    return err as Error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  throw new Error('the connection was accepted');
}

beforeAll(async () => {
  otherCa = createTestPki('Some Other CA');
});
afterAll(() => otherCa?.remove());

describe('the secured local Kafka', () => {
  it('carries a message over SASL_SSL with SCRAM-SHA-512, with the settings of examples/secure-stack.yaml', async () => {
    expect(cfg.kafka.brokers).toEqual(['localhost:19092']);
    expect(cfg.kafka.tls?.caFile).toBe(path.join(cfg.dataDir, 'pki', 'ca.crt'));
    expect(cfg.kafka.sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'provisioner' });
    const kafka = createKafka(cfg, { clientId: 'secure-kafka-test' });
    const topic = uniqueName('secure');
    await ensureTopics({ ...cfg, kafka: { ...cfg.kafka, partitions: 1 } }, [topic]);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'E1', value: 'hired over TLS' }] });
    await producer.disconnect();

    const consumer: Consumer = kafka.consumer({ groupId: uniqueName('secure-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(`${message.key?.toString()}: ${message.value?.toString()}`);
        },
      });
    });
    await consumer.disconnect();
    expect(received).toBe('E1: hired over TLS');
  });

  it('takes the same user over SCRAM-SHA-256 too', async () => {
    const admin = createKafka(variant({ sasl: { ...cfg.kafka.sasl!, mechanism: 'scram-sha-256' } }), { clientId: 'secure-kafka-test', retries: 0 }).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(cfg.kafka.topics.hrLifecycle);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses a wrong password with one kafka: line naming the broker and the user, without either password', async () => {
    const wrong = 'not-the-password-0123456789';
    const err = await connectFailure(variant({ sasl: { mechanism: 'scram-sha-512', username: 'provisioner', password: wrong } }));
    expect(err).toBeInstanceOf(KafkaConnectionError);
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message).toBe('kafka: authentication failed at localhost:19092 (TLS, SCRAM-SHA-512 as "provisioner"); check kafka.sasl.username and kafka.sasl.password (KAFKA_SASL_PASSWORD), and kafka.sasl.mechanism (scram-sha-512)');
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(password());
  });

  it('ends `provisioner publish` with that one line when the password file holds a wrong password', { timeout: 60_000 }, async () => {
    const wrongFile = path.join(dir, 'wrong-password');
    writeFileSync(wrongFile, 'wrong-password-from-a-file\n', { mode: 0o600 });
    const events = path.join(dir, 'one.jsonl');
    const hire = hrEvent('E9101', { id: uniqueName('hire') });
    writeFileSync(events, `${JSON.stringify(hire)}\n`);
    // The plain stack's variables stay out: the file says where the secured servers are.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KAFKA_|TEMPORAL_|DATABASE_URL|LDAP_)/.test(k)));
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'provisioner.js'), 'publish', events], {
      cwd: projectRoot,
      env: { ...env, PROVISIONER_CONFIG: path.join(projectRoot, SECURE_STACK_CONFIG), KAFKA_SASL_PASSWORD_FILE: wrongFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `kafka: authentication failed at localhost:19092 (TLS, SCRAM-SHA-512 as "provisioner"); check kafka.sasl.username and kafka.sasl.passwordFile (${wrongFile}), and kafka.sasl.mechanism (scram-sha-512)`,
    ]);
    expect(stderr).not.toContain('wrong-password-from-a-file');
    expect(stderr).not.toContain(password());
  });

  it('refuses a client without TLS, saying to check kafka.tls', async () => {
    const err = await connectFailure(variant({ tls: undefined }));
    expect(err).toBeInstanceOf(KafkaConnectionError);
    expect(err.message).toMatch(/^kafka: the broker localhost:19092 \(no TLS, SCRAM-SHA-512 as "provisioner"\) closed the connection or did not answer; check kafka\.brokers \(KAFKA_BROKERS\); the listener may require TLS \(kafka\.tls, KAFKA_TLS=true\)$/);
    expect(err.message).not.toContain(password());
  });

  it('refuses a client that trusts another CA, naming the CA file to check', async () => {
    const err = await connectFailure(variant({ tls: { caFile: otherCa.caFile } }));
    expect(err).toBeInstanceOf(KafkaConnectionError);
    expect(err.message).toMatch(new RegExp(`^kafka: TLS: the broker's certificate at localhost:19092 \\(TLS, SCRAM-SHA-512 as "provisioner"\\) is not signed by a trusted CA \\([A-Z_]+\\); check kafka\\.tls\\.caFile \\(${otherCa.caFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    expect(err.message).not.toContain(password());
  });
});
