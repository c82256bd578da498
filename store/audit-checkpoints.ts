// Signed checkpoints of the chain's head (sequence, head hash, time), appended as JSON lines to a
// file outside the database. Whoever can rewrite the database cannot make its records' signatures
// valid, but could cut off the newest records and roll the head back; a checkpoint taken before
// that still names the lost head, so verification reports the tail as truncated. (Records appended
// after the last checkpoint are covered only by their copies on Kafka; checkpoint often.)
import { mkdir, open as openFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalize } from './canonical-json.js';
import type { Db } from './db.js';
import type { AuditSigner, AuditVerifier } from './signing.js';
import type { Logger } from '../observability/logger.js';

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

/** Signs the current (committed) head and appends it to the file, flushed to disk before returning. */
export async function writeCheckpoint(db: Db, signer: AuditSigner | undefined, file: string): Promise<Checkpoint> {
  if (!signer) throw new Error('no audit signing key: set PROVISIONER_AUDIT_SIGNING_KEY or PROVISIONER_AUDIT_SIGNING_KEY_FILE');
  const head = await readHead(db);
  const unsigned = { v: 1 as const, chain: head.chain, seq: head.seq, head: head.hash, at: new Date().toISOString(), keyId: signer.keyId };
  const checkpoint: Checkpoint = { ...unsigned, sig: signer.sign('checkpoint', canonicalize(unsigned)) };
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await openFile(file, 'a');
  try {
    // One write of one line with O_APPEND: concurrent writers interleave whole lines.
    await handle.write(`${canonicalize(checkpoint)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  return checkpoint;
}

export type CheckpointProblem = { line: number; message: string };

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
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      problems.push({ line: i + 1, message: 'not JSON' });
      return;
    }
    const result = checkpointSchema.safeParse(parsed);
    if (!result.success) return problems.push({ line: i + 1, message: z.prettifyError(result.error).replaceAll('\n', '; ') });
    const cp = result.data;
    if (!verifier.knows(cp.keyId)) return problems.push({ line: i + 1, message: `signed by unknown key ${cp.keyId}` });
    if (!verifier.verify('checkpoint', cp.keyId, signedPart(cp), cp.sig)) return problems.push({ line: i + 1, message: 'signature does not verify (altered or forged)' });
    checkpoints.push(cp);
  });
  return { checkpoints, problems };
}

/** Writes a checkpoint every `intervalMs` when the head has moved, and a last one on stop. */
export function startCheckpointer(
  db: Db,
  signer: AuditSigner | undefined,
  file: string,
  options: { intervalMs?: number; logger?: Logger } = {},
): { stop(): Promise<void> } {
  let lastSeq = -1;
  let running: Promise<void> = Promise.resolve();
  const tick = (): Promise<void> => {
    running = running.then(async () => {
      try {
        const head = await readHead(db);
        if (head.seq === lastSeq) return;
        const cp = await writeCheckpoint(db, signer, file);
        lastSeq = cp.seq;
      } catch (err) {
        options.logger?.error({ err: (err as Error).message, file }, 'audit: could not write a checkpoint');
      }
    });
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 10_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
    },
  };
}
