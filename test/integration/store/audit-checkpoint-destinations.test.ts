// Checkpoints that survive their host, on the real Kafka and PostgreSQL: the checkpointer writes
// each signed head to the file and to the audit topic (beside the records, told apart by type and
// key); a destination that fails is retried with what it missed and never holds back the other;
// `audit verify` fails when the checkpoints it expects are gone, naming the last verified record,
// and from the topic alone still finds a truncated tail once the file is gone.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatKeyEntry } from '../../../crypto/keyring.js';
import { createKafka } from '../../../kafka/client.js';
import { readToEnd } from '../../../kafka/topic-reader.js';
import { loadConfig } from '../../../schemas/config.js';
import { ensureTopics } from '../../../stack/kafka.js';
import {
  CHECKPOINT_MESSAGE_TYPE, checkpointDestinations, checkpointerOptions, fileDestination, kafkaDestination, readCheckpoints, startCheckpointer, type Checkpoint,
} from '../../../store/audit-checkpoints.js';
import { createKafkaAuditSink, publishPendingAuditRecords, type AuditSink } from '../../../store/audit-publisher.js';
import { generateSigningSeed } from '../../../store/signing.js';
import { loadStoreKeys } from '../../../store/store-keys.js';
import { uniqueName } from '../../helpers/unique.js';
import { runAuditCli } from './run-audit-cli.js';
import { createTestStore, type TestStore } from './test-store.js';

const topic = uniqueName('audit-cp');
const dir = mkdtempSync(path.join(tmpdir(), 'audit-cp-'));
const configFile = path.join(dir, 'provisioner.yaml');
// Interval 1 s and grace 1 s: a record must be checkpointed within 2 s, checkpoints lie at most 11 s apart.
writeFileSync(configFile, `kafka:\n  topics:\n    audit: ${topic}\naudit:\n  checkpointIntervalSeconds: 1\n  checkpointGraceSeconds: 1\n`);
const saved = { ...process.env };
const env = {
  PROVISIONER_CONFIG: configFile,
  PROVISIONER_AUDIT_SIGNING_KEY: formatKeyEntry({ id: 'cp-test', material: generateSigningSeed() }),
  PROVISIONER_STORE_KEK: formatKeyEntry({ id: 'cp-kek', material: randomBytes(32) }),
};
const kafka = createKafka(loadConfig());
const stores: TestStore[] = [];
const sinks: AuditSink[] = [];

beforeAll(async () => {
  await ensureTopics(loadConfig(), [topic]);
});
afterAll(async () => {
  process.env = saved;
  await Promise.all(sinks.map((s) => s.close()));
  await Promise.all(stores.map((t) => t.drop()));
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** A store of its own, set up in the environment as an operator would for the CLI. */
async function store(): Promise<TestStore> {
  const t = await createTestStore('cpdest', { keys: loadStoreKeys({ dataDir: '/nonexistent', env }) });
  stores.push(t);
  return t;
}
const useInCli = (t: TestStore, checkpointsFile = t.checkpointsFile) =>
  Object.assign(process.env, env, { PROVISIONER_STORE_SCHEMA: t.schema, PROVISIONER_AUDIT_CHECKPOINTS: checkpointsFile });
async function sink(): Promise<AuditSink> {
  const s = await createKafkaAuditSink(loadConfig({ env: { ...process.env, ...env } }), { topic });
  sinks.push(s);
  return s;
}
const append = async (t: TestStore, n: number) => {
  for (let i = 0; i < n; i += 1) await t.store.audit({ actor: { type: 'system', id: 'test' }, action: 'grant.added', reason: `r${i}`, subject: { employeeId: `P${i % 3}` }, changes: [{ op: 'grant', app: 'crm' }] });
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const run = runAuditCli;

/** The checkpoint messages of one chain on the topic, as produced. */
async function checkpointsOnTopic(chain: string): Promise<Array<{ key: string; headers: Record<string, string>; value: Checkpoint }>> {
  return (await readToEnd(kafka, topic))
    .map(({ message }) => ({
      key: message.key?.toString() ?? '',
      headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      value: JSON.parse(message.value!.toString()) as Checkpoint,
    }))
    .filter((m) => m.headers['ce-type'] === CHECKPOINT_MESSAGE_TYPE && m.value.chain === chain);
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs a checkpointer to the file and the topic while appending each batch, each time until its head is checkpointed. */
async function checkpointWhileAppending(t: TestStore, intervalMs: number, batches: number[]): Promise<void> {
  const checkpointer = startCheckpointer(t.store.pool, t.signer, [fileDestination(t.checkpointsFile), kafkaDestination(await sink(), topic)], { intervalMs });
  try {
    let seq = 0;
    for (const n of batches) {
      await append(t, n);
      seq += n;
      const head = seq;
      await waitFor(`a checkpoint of seq ${head}`, async () => (await readCheckpoints(t.checkpointsFile, t.store.keys.verifier)).checkpoints.some((c) => c.seq === head));
    }
  } finally {
    await checkpointer.stop();
  }
}

describe('audit checkpoints outside the host', () => {
  it('the checkpointer writes each checkpoint to the file and to the audit topic, where a SIEM tells them from the records', async () => {
    const t = await store();
    const cfg = { ...loadConfig({ env: { ...process.env, ...env } }), audit: { ...loadConfig({ env: { ...process.env, ...env } }).audit, checkpointsFile: t.checkpointsFile } };
    const s = await sink();
    const destinations = checkpointDestinations(cfg, s);
    expect(destinations.map((d) => d.name)).toEqual([`file ${t.checkpointsFile}`, `kafka ${topic}`]);
    const checkpointer = startCheckpointer(t.store.pool, t.signer, destinations, { ...checkpointerOptions(cfg), intervalMs: 100 });
    await append(t, 5);
    await sleep(400);
    await append(t, 3);
    await checkpointer.stop();
    await publishPendingAuditRecords(t.store.pool, s);

    const inFile = (await readCheckpoints(t.checkpointsFile, t.store.keys.verifier)).checkpoints;
    expect(inFile.at(-1)!.seq).toBe(8);
    const onTopic = await checkpointsOnTopic(inFile[0]!.chain);
    // The same signed checkpoints in both places, in order.
    expect(onTopic.map((m) => m.value.sig)).toEqual(inFile.map((c) => c.sig));
    for (const m of onTopic) {
      expect(m.key).toBe(`checkpoint/${m.value.chain}`);
      expect(m.headers).toMatchObject({ 'ce-type': 'provisioning.audit.checkpoint', seq: String(m.value.seq), chain: m.value.chain });
    }
    // The records beside them carry their own type and keys.
    const records = (await readToEnd(kafka, topic)).filter(({ message }) => String(message.headers?.['ce-type']) === 'provisioning.audit.record');
    expect(records.length).toBeGreaterThanOrEqual(8);
    expect(records.every(({ message }) => !message.key!.toString().startsWith('checkpoint/'))).toBe(true);
    expect(checkpointer.status().map((d) => d.lastWritten?.seq)).toEqual([8, 8]);
  });

  it('a failing destination is retried with every checkpoint it missed, never holds back the other, and shows as unhealthy meanwhile', async () => {
    const t = await store();
    const s = await sink();
    // Its folder is a plain file for now: every append fails (ENOTDIR), as an unmounted share would.
    const share = path.join(dir, `share-${randomBytes(3).toString('hex')}`);
    writeFileSync(share, 'not a folder');
    const file = path.join(share, 'checkpoints.jsonl');
    const checkpointer = startCheckpointer(t.store.pool, t.signer, [fileDestination(file), kafkaDestination(s, topic)], { intervalMs: 100, unhealthyAfterMs: 200 });
    try {
      await append(t, 3);
      await waitFor('checkpoint of seq 3 on the topic', async () => (await checkpointsOnTopic((await t.store.pool.query('select chain_id from audit_head')).rows[0].chain_id)).some((m) => m.value.seq === 3));
      await append(t, 2);
      await waitFor('the file destination unhealthy, seq 5 on the topic', () => !checkpointer.healthy() && checkpointer.status()[1]!.lastWritten?.seq === 5);
      const [fileStatus, kafkaStatus] = checkpointer.status();
      expect(fileStatus).toMatchObject({ destination: `file ${file}`, failingSince: expect.any(String), lastError: expect.stringMatching(/ENOTDIR|EEXIST/) });
      expect(fileStatus!.pending).toBeGreaterThanOrEqual(2);
      expect(kafkaStatus).toMatchObject({ pending: 0, lastWritten: { seq: 5 } });
      expect(kafkaStatus!.failingSince).toBeUndefined();

      // The share comes back: everything it missed is written, with its own times.
      rmSync(share);
      mkdirSync(share);
      await waitFor('the file destination healthy again', () => checkpointer.healthy() && checkpointer.status()[0]!.pending === 0);
    } finally {
      await checkpointer.stop();
    }
    const chain = (await t.store.pool.query('select chain_id from audit_head')).rows[0].chain_id as string;
    const inFile = (await readCheckpoints(file, t.store.keys.verifier)).checkpoints;
    expect(inFile.map((c) => c.sig)).toEqual((await checkpointsOnTopic(chain)).map((m) => m.value.sig));
    expect(inFile.map((c) => c.seq)).toContain(3);
    expect(inFile.at(-1)!.seq).toBe(5);
  });

  it('audit checkpoint writes to both; deleting the checkpoint file fails audit verify, naming the last verified record', async () => {
    const t = await store();
    useInCli(t);
    await append(t, 6);
    expect((await run('audit', 'checkpoint')).out).toMatch(new RegExp(`^audit checkpoint: seq 6 head [0-9a-f]{16}… written to file ${t.checkpointsFile} and kafka ${topic}`));
    const good = await run('audit', 'verify');
    expect(good.exitCode).toBe(0);
    expect(good.out).toMatch(/^audit verify: 6 records verified; head seq 6 .*1 checkpoint\(s\) matched/);
    expect(good.out).toContain(`audit verify: file ${t.checkpointsFile}: 1 checkpoint(s), newest seq 6`);
    expect(good.out).toContain(`audit verify: kafka ${topic}: 1 checkpoint(s), newest seq 6`);

    rmSync(t.checkpointsFile);
    // Once the records are older than interval + grace (2 s), their checkpoints are expected.
    await sleep(2500);
    const { rows } = await t.store.pool.query<{ hash: string }>('select hash from audit_records where seq = 6');
    const gone = await run('audit', 'verify', '--from', 'file');
    expect(gone.exitCode).toBe(1);
    const line = gone.out.split('\n')[0]!;
    expect(line).toMatch(new RegExp(`^audit verify: FAILED at record 1 \\(checkpoint-missing\\): checkpoints missing in file ${t.checkpointsFile}: no checkpoint at all, but record 1 was appended at `));
    expect(line).toMatch(new RegExp(`last verified record: seq 6 at \\S+ \\(hash ${rows[0]!.hash.slice(0, 16)}…\\); no checkpoint vouches for any record$`));
    const json = JSON.parse((await run('audit', 'verify', '--from', 'file', '--json')).out);
    expect(json).toMatchObject({
      ok: false, lastVerified: { seq: 6, hash: rows[0]!.hash },
      problem: { kind: 'checkpoint-missing', seq: 1 },
      sources: [{ source: `file ${t.checkpointsFile}`, checkpoints: 0, missing: [{ kind: 'none', seq: 1 }] }],
    });
    // The topic still holds it, until it is judged stale (10 intervals + grace after it was taken).
    expect((await run('audit', 'verify', '--from', 'kafka')).exitCode).toBe(0);
  });

  it('audit checkpoint with the brokers down still writes the file, and fails naming the topic', async () => {
    const t = await store();
    useInCli(t);
    await append(t, 2);
    // Nobody listens on port 9 (discard): the audit topic cannot be reached.
    process.env.KAFKA_BROKERS = '127.0.0.1:9';
    await expect(run('audit', 'checkpoint')).rejects.toThrow(new RegExp(`^audit checkpoint: seq 2 not written to kafka ${topic}: `));
    const { checkpoints } = await readCheckpoints(t.checkpointsFile, t.store.keys.verifier);
    expect(checkpoints.map((c) => c.seq)).toEqual([2]);
  }, 60_000);

  it('deleting the newest lines of the file fails audit verify, naming the records no checkpoint vouches for', async () => {
    const t = await store();
    useInCli(t);
    await checkpointWhileAppending(t, 1000, [3, 3]);
    const lines = readFileSync(t.checkpointsFile, 'utf8').trim().split('\n');
    writeFileSync(t.checkpointsFile, `${lines.filter((l) => JSON.parse(l).seq <= 3).join('\n')}\n`);
    await sleep(2500);
    const { out, exitCode } = await run('audit', 'verify', '--from', 'file');
    expect(exitCode).toBe(1);
    expect(out.split('\n')[0]).toMatch(/^audit verify: FAILED at record 4 \(checkpoint-missing\): checkpoints missing in file .*(records from 4 on .* have no checkpoint|the newest checkpoint \(seq 3\) was taken).*; last verified record: seq 6 at .*; last checkpointed: seq 3 at /);
    expect((await run('audit', 'verify', '--from', 'kafka')).exitCode).toBe(0);
  });

  it('with the file gone, the checkpoints on the topic alone name a truncated tail', async () => {
    const t = await store();
    useInCli(t);
    await checkpointWhileAppending(t, 200, [10]);
    // Whoever holds the database and this host cuts the last three records, rolls the head back and removes the file.
    const { rows } = await t.store.pool.query<{ seq: string; hash: string; recorded_at: Date }>('select seq, hash, recorded_at from audit_records where seq = 7');
    await t.tamper('delete from audit_records where seq > 7');
    await t.tamper('update audit_head set seq = 7, hash = $1', [rows[0]!.hash]);
    rmSync(t.checkpointsFile);

    const { out, exitCode } = await run('audit', 'verify', '--from', 'kafka');
    expect(exitCode).toBe(1);
    expect(out.split('\n')[0]).toMatch(new RegExp(`^audit verify: FAILED at record 8 \\(truncated\\): record 8 is missing: the chain ends at seq 7, but a checkpoint taken at \\S+ \\(kafka ${topic}\\) names seq 10 as its head .*; last verified record: seq 7 at \\S+ \\(hash ${rows[0]!.hash.slice(0, 16)}…\\)$`));
    // The head row agrees with the cut chain, so without checkpoints nothing would show.
    expect((await run('audit', 'verify', '--no-checkpoints')).exitCode).toBe(0);
  });
});
