// Signed checkpoints of the chain's head (sequence, head hash, time), written outside the
// database's host: appended as JSON lines to a file (on another host's mount) and produced to the
// audit topic beside the records. Whoever can rewrite the database cannot make its records'
// signatures valid, but could cut off the newest records and roll the head back; a checkpoint taken
// before that still names the lost head, so verification reports the tail as truncated. Whoever
// can also remove checkpoints leaves a stretch without them, which verification reports as missing
// (store/checkpoint-expectations.ts): the checkpointer signs the head every interval when it moved,
// and every HEARTBEAT_INTERVALS intervals when it did not.
import { mkdir, open as openFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalize } from './canonical-json.js';
import type { Db } from './db.js';
import type { AuditMessage, AuditSink } from './audit-publisher.js';
import { HEARTBEAT_INTERVALS } from './checkpoint-expectations.js';
import type { AuditSigner, AuditVerifier } from './signing.js';
import type { Kafka } from '../kafka/client.js';
import { readToEnd } from '../kafka/topic-reader.js';
import type { Logger } from '../observability/logger.js';
import type { Config } from '../schemas/config.js';

export const checkpointSchema = z.strictObject({
  v: z.literal(1),
  chain: z.uuid(),
  seq: z.number().int().nonnegative(),
  head: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.iso.datetime(),
  keyId: z.string().min(1),
  sig: z.string().min(1),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

const signedPart = ({ sig: _sig, ...rest }: Checkpoint): string => canonicalize(rest);

export type ChainHead = { chain: string; seq: number; hash: string };

export async function readHead(db: Db): Promise<ChainHead> {
  const { rows } = await db.query<{ chain_id: string; seq: string; hash: string }>('select chain_id, seq, hash from audit_head');
  if (!rows[0]) throw new Error('the audit chain has no head row: is the store migrated?');
  return { chain: rows[0].chain_id, seq: Number(rows[0].seq), hash: rows[0].hash };
}

/** Signs the current (committed) head. */
export async function signCheckpoint(db: Db, signer: AuditSigner | undefined): Promise<Checkpoint> {
  if (!signer) throw new Error('no audit signing key: set PROVISIONER_AUDIT_SIGNING_KEY or PROVISIONER_AUDIT_SIGNING_KEY_FILE');
  const head = await readHead(db);
  const unsigned = { v: 1 as const, chain: head.chain, seq: head.seq, head: head.hash, at: new Date().toISOString(), keyId: signer.keyId };
  return { ...unsigned, sig: signer.sign('checkpoint', canonicalize(unsigned)) };
}

/** Appends one checkpoint to the file, flushed to disk before returning. */
export async function appendCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await openFile(file, 'a');
  try {
    // One write of one line with O_APPEND: concurrent writers interleave whole lines.
    await handle.write(`${canonicalize(checkpoint)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Signs the current head and appends it to the file. */
export async function writeCheckpoint(db: Db, signer: AuditSigner | undefined, file: string): Promise<Checkpoint> {
  const checkpoint = await signCheckpoint(db, signer);
  await appendCheckpoint(file, checkpoint);
  return checkpoint;
}

/** The `ce-type` header of checkpoints on the audit topic; records carry `provisioning.audit.record`. */
export const CHECKPOINT_MESSAGE_TYPE = 'provisioning.audit.checkpoint';

/**
 * A checkpoint as a message of the audit topic: keyed `checkpoint/<chain>` (one partition per chain,
 * in order; records are keyed by subject or record id), its value the signed checkpoint itself.
 */
export function checkpointMessage(checkpoint: Checkpoint): AuditMessage {
  return {
    key: `checkpoint/${checkpoint.chain}`,
    value: canonicalize(checkpoint),
    headers: { 'ce-type': CHECKPOINT_MESSAGE_TYPE, seq: String(checkpoint.seq), chain: checkpoint.chain },
  };
}

/** Where checkpoints go; write() resolves once the checkpoint is durable there. */
export type CheckpointDestination = { name: string; write(checkpoint: Checkpoint): Promise<void> };

export function fileDestination(file: string): CheckpointDestination {
  return { name: `file ${file}`, write: (cp) => appendCheckpoint(file, cp) };
}

/** The audit topic, through the records' producer (acks from all in-sync replicas). */
export function kafkaDestination(sink: AuditSink, topic: string): CheckpointDestination {
  return { name: `kafka ${topic}`, write: (cp) => sink.send([checkpointMessage(cp)]) };
}

/** The configured destinations (audit.checkpointTo): the file, and the audit topic through `sink`. */
export function checkpointDestinations(cfg: Pick<Config, 'audit' | 'kafka'>, sink: AuditSink | undefined): CheckpointDestination[] {
  return cfg.audit.checkpointTo.map((to) => {
    if (to === 'file') return fileDestination(cfg.audit.checkpointsFile);
    if (!sink) throw new Error('audit.checkpointTo names kafka, but no producer for the audit topic was opened');
    return kafkaDestination(sink, cfg.kafka.topics.audit);
  });
}

/** The checkpointer's interval, and how long a destination may fail before the worker is not ready. */
export function checkpointerOptions(cfg: Pick<Config, 'audit'>, logger?: Logger): { intervalMs: number; unhealthyAfterMs: number; logger?: Logger } {
  return { intervalMs: cfg.audit.checkpointIntervalSeconds * 1000, unhealthyAfterMs: cfg.audit.checkpointGraceSeconds * 1000, ...(logger ? { logger } : {}) };
}

export type CheckpointProblem = { line: number; message: string };

/** Parses and checks one checkpoint: the checkpoint, or what is wrong with it. */
function checkCheckpoint(parsed: unknown, verifier: AuditVerifier): Checkpoint | string {
  const result = checkpointSchema.safeParse(parsed);
  if (!result.success) return z.prettifyError(result.error).replaceAll('\n', '; ');
  const cp = result.data;
  if (!verifier.knows(cp.keyId)) return `signed by unknown key ${cp.keyId}`;
  if (!verifier.verify('checkpoint', cp.keyId, signedPart(cp), cp.sig)) return 'signature does not verify (altered or forged)';
  return cp;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Reads and checks every checkpoint in the file (a missing file holds none). */
export async function readCheckpoints(file: string, verifier: AuditVerifier): Promise<{ checkpoints: Checkpoint[]; problems: CheckpointProblem[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], problems: [] };
    throw err;
  }
  const checkpoints: Checkpoint[] = [];
  const problems: CheckpointProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const parsed = parseJson(raw);
    const checked = parsed === undefined ? 'not JSON' : checkCheckpoint(parsed, verifier);
    if (typeof checked === 'string') problems.push({ line: i + 1, message: checked });
    else checkpoints.push(checked);
  });
  return { checkpoints, problems };
}

/**
 * Reads and checks every checkpoint message of one chain on the audit topic, up to its end as of
 * now (the records beside them, and other chains' checkpoints, are skipped: the topic may serve
 * several pipelines, or outlive a database re-created on purpose). A message of this chain that is
 * not a valid, signed checkpoint is a problem; its place is `partition p offset o`.
 */
export async function readKafkaCheckpoints(kafka: Kafka, topic: string, verifier: AuditVerifier, chain: string): Promise<{ checkpoints: Checkpoint[]; problems: Array<{ at: string; message: string }> }> {
  const checkpoints: Checkpoint[] = [];
  const problems: Array<{ at: string; message: string }> = [];
  for (const { partition, message } of await readToEnd(kafka, topic)) {
    if (String(message.headers?.['ce-type'] ?? '') !== CHECKPOINT_MESSAGE_TYPE) continue;
    const parsed = parseJson(message.value?.toString('utf8') ?? '');
    const claimed = String(message.headers?.chain ?? (parsed as { chain?: unknown } | undefined)?.chain ?? '');
    if (claimed !== chain || (parsed as { chain?: unknown } | undefined)?.chain !== chain) continue;
    const checked = parsed === undefined ? 'not JSON' : checkCheckpoint(parsed, verifier);
    if (typeof checked === 'string') problems.push({ at: `partition ${partition} offset ${message.offset}`, message: checked });
    else checkpoints.push(checked);
  }
  return { checkpoints, problems };
}

export type DestinationStatus = {
  destination: string;
  /** Checkpoints signed but not yet written there (retried each interval, oldest first). */
  pending: number;
  lastWritten?: { seq: number; at: string };
  /** Since when its writes fail, and the last error. */
  failingSince?: string;
  lastError?: string;
};

export type Checkpointer = {
  stop(): Promise<void>;
  status(): DestinationStatus[];
  /** False once a destination has failed for longer than `unhealthyAfterMs` (the worker's /ready). */
  healthy(): boolean;
};

/** Checkpoints one destination may hold back while it fails; beyond, the oldest are dropped (and logged). */
const MAX_PENDING = 10_000;

type Lane = { dest: CheckpointDestination; pending: Checkpoint[]; draining?: Promise<void>; status: DestinationStatus; failingSince?: number };

/**
 * Signs the head every `intervalMs` when it moved (and every HEARTBEAT_INTERVALS intervals when it
 * did not), and a last one on stop, and writes each checkpoint to every destination. Each
 * destination has its own queue: one that fails or hangs is logged and retried with every
 * checkpoint it missed (their own times, so no gap remains), and never holds back the others or
 * the chain (appends never wait for a checkpoint).
 */
export function startCheckpointer(
  db: Db,
  signer: AuditSigner | undefined,
  destinations: CheckpointDestination[],
  options: { intervalMs?: number; unhealthyAfterMs?: number; logger?: Logger } = {},
): Checkpointer {
  const intervalMs = options.intervalMs ?? 30_000;
  const writeTimeoutMs = Math.max(10_000, intervalMs);
  const logger = options.logger;
  const lanes: Lane[] = destinations.map((dest) => ({ dest, pending: [], status: { destination: dest.name, pending: 0 } }));
  let last: { seq: number; at: number } | undefined;
  let signing: Promise<void> = Promise.resolve();

  const drain = (lane: Lane): Promise<void> => {
    lane.draining ??= (async () => {
      while (lane.pending.length > 0) {
        const cp = lane.pending[0]!;
        try {
          await withTimeout(lane.dest.write(cp), writeTimeoutMs, `${lane.dest.name}: no answer within ${writeTimeoutMs} ms`);
        } catch (err) {
          const message = (err as Error).message;
          lane.failingSince ??= Date.now();
          lane.status = { ...lane.status, pending: lane.pending.length, failingSince: new Date(lane.failingSince).toISOString(), lastError: message };
          logger?.error({ destination: lane.dest.name, err: message, pending: lane.pending.length, failingSince: lane.status.failingSince }, 'audit: a checkpoint destination is failing; retrying every interval');
          return;
        }
        lane.pending.shift();
        if (lane.failingSince !== undefined) logger?.info({ destination: lane.dest.name, failedFor: Date.now() - lane.failingSince }, 'audit: a checkpoint destination works again');
        lane.failingSince = undefined;
        lane.status = { destination: lane.dest.name, pending: lane.pending.length, lastWritten: { seq: cp.seq, at: cp.at } };
      }
    })().finally(() => {
      lane.draining = undefined;
    });
    return lane.draining;
  };

  const enqueue = (cp: Checkpoint): void => {
    for (const lane of lanes) {
      lane.pending.push(cp);
      if (lane.pending.length > MAX_PENDING) {
        const dropped = lane.pending.shift()!;
        logger?.error({ destination: lane.dest.name, seq: dropped.seq, at: dropped.at }, 'audit: a checkpoint destination has failed too long; its oldest unwritten checkpoint is dropped (verify will report the gap)');
      }
    }
  };
  const tick = (): Promise<void> => {
    signing = signing.then(async () => {
      try {
        const head = await readHead(db);
        const idle = last !== undefined && head.seq === last.seq;
        if (!idle || Date.now() - last!.at >= HEARTBEAT_INTERVALS * intervalMs) {
          const cp = await signCheckpoint(db, signer);
          last = { seq: cp.seq, at: Date.now() };
          enqueue(cp);
        }
      } catch (err) {
        logger?.error({ err: (err as Error).message }, 'audit: could not sign a checkpoint');
      }
      // Every tick retries what failed. Not awaited: a destination that hangs must not hold back the others.
      for (const lane of lanes) void drain(lane);
    });
    return signing;
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
      await Promise.all(lanes.map((lane) => withTimeout(drain(lane), writeTimeoutMs, 'stop').catch(() => undefined)));
    },
    status: () => lanes.map((lane) => ({ ...lane.status, pending: lane.pending.length })),
    healthy: () => lanes.every((lane) => lane.failingSince === undefined || Date.now() - lane.failingSince <= (options.unhealthyAfterMs ?? 0)),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
