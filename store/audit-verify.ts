// Verifies the whole chain from its first record, in one consistent snapshot, and names the first
// bad record. For each record in seq order: the row is well-formed; its body is canonical JSON of
// the right shape; the hash is the body's; the body's seq and id are the row's (no renumbering or
// reordering); it belongs to this chain; it names its predecessor's hash (no deletion or insertion);
// its Ed25519 signature verifies under a trusted key; the query columns agree with it. Then the
// head row, and every checkpoint outside the database (the file, the audit topic), must name
// records that exist with those hashes (no truncated tail). With `expect`, each checkpoint source
// must also hold the checkpoints the checkpointer writes (store/checkpoint-expectations.ts): none
// at all, a stretch without them, or a stale newest one fails too. Every result names the last
// record verified (seq, time, hash).
import type pg from 'pg';
import { z } from 'zod';
import { canonicalize } from './canonical-json.js';
import { readCheckpoints, readKafkaCheckpoints, type Checkpoint } from './audit-checkpoints.js';
import { appsOf, GENESIS_HASH, RECORD_COLUMNS, recordBodySchema, recordRowSchema, type RecordBody } from './audit-record.js';
import { sha256 } from './audit-chain.js';
import { missingCheckpoints, type CheckpointExpectation, type MissingCheckpoint, type TimedSeq } from './checkpoint-expectations.js';
import type { AuditVerifier } from './signing.js';
import type { Kafka } from '../kafka/client.js';

export type ProblemKind = 'modified' | 'missing' | 'inserted' | 'reordered' | 'truncated' | 'unknown-key' | 'checkpoint' | 'checkpoint-missing';

export type VerifyProblem = {
  kind: ProblemKind;
  /** The first bad record's seq (for a deletion, the missing seq; for missing checkpoints, the first record none vouches for). */
  seq: number;
  /** The record's id, when the bad record is present. */
  recordId?: string;
  message: string;
  /** For missing checkpoints: the newest checkpoint before the stretch without them. */
  lastCheckpointed?: { seq: number; at: string };
};

export type VerifiedRecord = { seq: number; at: string; hash: string };

export type SourceSummary = {
  source: string;
  /** Valid checkpoints of this chain found there. */
  checkpoints: number;
  newest?: { seq: number; at: string };
  /** What is expected there and missing (only with `expect`). */
  missing: MissingCheckpoint[];
};

export type VerifyResult = {
  ok: boolean;
  /** Records verified good (all of them when ok; those before the problem otherwise). */
  verified: number;
  head: { seq: number; hash: string } | undefined;
  /** The last record verified good: the head when the chain is sound, the one before the first bad record otherwise. */
  lastVerified?: VerifiedRecord;
  checkpoints: number;
  sources: SourceSummary[];
  problem?: VerifyProblem;
};

/** Where checkpoints are read from; a file that names another chain fails, the audit topic may hold several. */
export type CheckpointSource = {
  name: string;
  foreignChains: 'fail' | 'skip';
  /** The checkpoints there (a source that may hold several chains returns `chain`'s only). */
  read(verifier: AuditVerifier, chain: string): Promise<{ checkpoints: Checkpoint[]; problems: Array<{ at: string; message: string }> }>;
};

export function fileCheckpointSource(file: string): CheckpointSource {
  return {
    name: `file ${file}`,
    foreignChains: 'fail',
    async read(verifier) {
      const read = await readCheckpoints(file, verifier);
      return { checkpoints: read.checkpoints, problems: read.problems.map((p) => ({ at: `line ${p.line}`, message: p.message })) };
    },
  };
}

export function kafkaCheckpointSource(kafka: Kafka, topic: string): CheckpointSource {
  return { name: `kafka ${topic}`, foreignChains: 'skip', read: (verifier, chain) => readKafkaCheckpoints(kafka, topic, verifier, chain) };
}

export type VerifyOptions = {
  verifier: AuditVerifier;
  /** The checkpoint file; without any source a truncated tail is detected only from the head row. */
  checkpointsFile?: string;
  checkpointSources?: CheckpointSource[];
  /** Fail when a source lacks the checkpoints the checkpointer writes (`until` defaults to now). */
  expect?: Omit<CheckpointExpectation, 'until'> & { until?: number };
  batchSize?: number;
};

const headRowSchema = z.object({ chain_id: z.string(), seq: z.coerce.number().int(), hash: z.string() });

export async function verifyAuditChain(pool: pg.Pool, options: VerifyOptions): Promise<VerifyResult> {
  const sources = [...(options.checkpointsFile ? [fileCheckpointSource(options.checkpointsFile)] : []), ...(options.checkpointSources ?? [])];
  // Checkpoints first, the snapshot after: every checkpoint then names a head the snapshot holds.
  const until = options.expect?.until ?? Date.now();
  // The chain's id never changes: read it now to pick this chain's checkpoints from a shared topic.
  const chain = headRowSchema.parse((await pool.query('select chain_id, seq, hash from audit_head')).rows[0]).chain_id;
  const read = await Promise.all(sources.map(async (source) => ({ source, ...(await source.read(options.verifier, chain)) })));
  const client = await pool.connect();
  try {
    // One snapshot for the whole walk, so records appended meanwhile do not look like a mismatch.
    await client.query('begin isolation level repeatable read read only');
    const result = await verifyInSnapshot(client, options, read, until);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

type ReadSource = { source: CheckpointSource; checkpoints: Checkpoint[]; problems: Array<{ at: string; message: string }> };
type Anchored = Checkpoint & { source: string };

async function verifyInSnapshot(client: pg.PoolClient, options: VerifyOptions, read: ReadSource[], until: number): Promise<VerifyResult> {
  const { verifier } = options;
  const headRow = headRowSchema.parse((await client.query('select chain_id, seq, hash from audit_head')).rows[0]);
  const chain = headRow.chain_id;
  let lastVerified: VerifiedRecord | undefined;
  const sources: SourceSummary[] = read.map(({ source }) => ({ source: source.name, checkpoints: 0, missing: [] }));
  const fail = (verified: number, head: VerifyResult['head'], checkpoints: number, problem: VerifyProblem): VerifyResult =>
    ({ ok: false, verified, head, ...(lastVerified ? { lastVerified } : {}), checkpoints, sources, problem });

  const ofChain: Anchored[][] = [];
  for (const [i, { source, checkpoints: found, problems }] of read.entries()) {
    const bad = problems[0];
    if (bad) return fail(0, undefined, 0, { kind: 'checkpoint', seq: 0, message: `checkpoints of ${source.name}, ${bad.at}: ${bad.message}` });
    const foreign = found.find((cp) => cp.chain !== chain);
    if (foreign && source.foreignChains === 'fail') {
      return fail(0, undefined, 0, {
        kind: 'checkpoint',
        seq: foreign.seq,
        message: `checkpoint at seq ${foreign.seq} (${foreign.at}) in ${source.name} is for chain ${foreign.chain}, but the database holds chain ${chain}: the chain was replaced (if the database was deliberately re-created, move the checkpoints aside)`,
      });
    }
    const mine = found.filter((cp) => cp.chain === chain).map((cp) => ({ ...cp, source: source.name }));
    ofChain.push(mine);
    const newest = mine.reduce<Checkpoint | undefined>((a, cp) => (!a || cp.at > a.at ? cp : a), undefined);
    sources[i] = { ...sources[i]!, checkpoints: mine.length, ...(newest ? { newest: { seq: newest.seq, at: newest.at } } : {}) };
  }
  // The same checkpoint may sit in several sources: each is checked against the chain once.
  const checkpoints = [...new Map(ofChain.flat().map((cp) => [cp.sig, cp])).values()].sort((a, b) => a.seq - b.seq);
  let nextCheckpoint = 0;
  // The append time of the records a checkpoint could be late for: the first, and each one after a checkpointed seq.
  const timed = new Set([1, ...checkpoints.map((cp) => cp.seq + 1)]);
  const timeline: TimedSeq[] = [];

  const batchSize = options.batchSize ?? 2000;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let verified = 0;
  // Keyset pagination from the very lowest seq, so a row slipped in below 1 is seen too.
  let after = '-9223372036854775808';
  for (;;) {
    const { rows } = await client.query(`select ${RECORD_COLUMNS} from audit_records where seq > $1::bigint order by seq limit $2`, [after, batchSize]);
    if (rows.length === 0) break;
    after = String((rows[rows.length - 1] as { seq: unknown }).seq);
    for (const raw of rows) {
      const problem = checkRecord(raw, { expectedSeq, prevHash, chain, verifier });
      if (problem) return fail(verified, undefined, checkpoints.length, problem);
      const row = recordRowSchema.parse(raw);
      // Checkpoints at or below this seq must name exactly this record's hash.
      while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.seq <= row.seq) {
        const cp = checkpoints[nextCheckpoint]!;
        if (cp.seq === row.seq && cp.head !== row.hash) {
          return fail(verified, undefined, checkpoints.length, {
            kind: 'modified', seq: row.seq, recordId: row.record_id,
            message: `record ${row.seq} (${row.record_id}) is not the record checkpointed at ${cp.at} (${cp.source}): the chain was rewritten from here or earlier`,
          });
        }
        nextCheckpoint += 1;
      }
      prevHash = row.hash;
      expectedSeq = row.seq + 1;
      verified += 1;
      lastVerified = { seq: row.seq, at: row.recorded_at, hash: row.hash };
      if (timed.has(row.seq)) timeline.push({ seq: row.seq, at: Date.parse(row.recorded_at) });
    }
  }
  const last = expectedSeq - 1;
  const head = { seq: last, hash: prevHash };

  // Records beyond the last one present, named by a checkpoint: the tail was cut off.
  const lost = checkpoints.slice(nextCheckpoint).find((cp) => cp.seq > last);
  if (lost) {
    return fail(verified, head, checkpoints.length, {
      kind: 'truncated', seq: last + 1,
      message: `record ${last + 1} is missing: the chain ends at seq ${last}, but a checkpoint taken at ${lost.at} (${lost.source}) names seq ${lost.seq} as its head (records ${last + 1}..${lost.seq} were truncated)`,
    });
  }
  if (headRow.seq > last) {
    return fail(verified, head, checkpoints.length, {
      kind: 'truncated', seq: last + 1,
      message: `record ${last + 1} is missing: the chain ends at seq ${last}, but its head row says seq ${headRow.seq} (records ${last + 1}..${headRow.seq} were truncated)`,
    });
  }
  if (headRow.seq < last || headRow.hash !== prevHash) {
    return fail(verified, head, checkpoints.length, {
      kind: 'inserted', seq: Math.min(headRow.seq + 1, last),
      message: `the head row (seq ${headRow.seq}) does not match the last record (seq ${last}): records were added without extending the head`,
    });
  }
  // The chain is sound; now whether each source holds the checkpoints it should.
  if (options.expect) {
    const expect = { ...options.expect, until };
    for (const [i, mine] of ofChain.entries()) {
      const missing = missingCheckpoints({ records: timeline, checkpoints: mine.map((cp) => ({ seq: cp.seq, at: Date.parse(cp.at) })), expect });
      sources[i] = { ...sources[i]!, missing };
    }
    const first = sources.flatMap((src) => src.missing.slice(0, 1).map((m) => ({ src, m }))).sort((a, b) => a.m.from - b.m.from)[0];
    if (first) {
      const anchored = first.m.lastCheckpointed;
      return fail(verified, head, checkpoints.length, {
        kind: 'checkpoint-missing', seq: first.m.seq, message: `checkpoints missing in ${first.src.source}: ${first.m.message}`,
        ...(anchored ? { lastCheckpointed: { seq: anchored.seq, at: new Date(anchored.at).toISOString() } } : {}),
      });
    }
  }
  return { ok: true, verified, head, ...(lastVerified ? { lastVerified } : {}), checkpoints: checkpoints.length, sources };
}

function checkRecord(
  raw: unknown,
  at: { expectedSeq: number; prevHash: string; chain: string; verifier: AuditVerifier },
): VerifyProblem | undefined {
  const parsedRow = recordRowSchema.safeParse(raw);
  const rawSeq = Number((raw as { seq?: unknown }).seq);
  if (!parsedRow.success) return { kind: 'modified', seq: rawSeq, message: `record ${rawSeq}: the row is malformed (${z.prettifyError(parsedRow.error).replaceAll('\n', '; ')})` };
  const row = parsedRow.data;
  const name = `record ${row.seq} (${row.record_id})`;
  const bad = (kind: ProblemKind, message: string, seq = row.seq): VerifyProblem => ({ kind, seq, recordId: row.record_id, message: `${name}: ${message}` });

  if (row.seq < at.expectedSeq) return bad('inserted', `it sits before the first record of the chain (seq ${at.expectedSeq}): inserted`);
  if (row.seq > at.expectedSeq) {
    const gap = row.seq - at.expectedSeq === 1 ? `record ${at.expectedSeq} is` : `records ${at.expectedSeq}..${row.seq - 1} are`;
    return { kind: 'missing', seq: at.expectedSeq, message: `${gap} missing (deleted): ${name} follows record ${at.expectedSeq - 1}` };
  }
  let body: RecordBody;
  try {
    const parsed = recordBodySchema.safeParse(JSON.parse(row.body));
    if (!parsed.success) return bad('modified', `its content is not a well-formed record (${z.prettifyError(parsed.error).replaceAll('\n', '; ')})`);
    body = parsed.data;
  } catch {
    return bad('modified', 'its content is not JSON');
  }
  if (canonicalize(body) !== row.body) return bad('modified', 'its content is not in canonical form (edited by hand?)');
  if (sha256(row.body) !== row.hash) return bad('modified', 'its hash does not match its content (modified)');
  if (body.seq !== row.seq) return bad('reordered', `it carries seq ${body.seq} but sits at seq ${row.seq} (records were reordered or renumbered)`);
  if (body.id !== row.record_id) return bad('modified', `its content names record id ${body.id} (modified)`);
  if (body.chain !== at.chain) return bad('inserted', `it belongs to chain ${body.chain}, not ${at.chain} (inserted from elsewhere)`);
  if (body.prev !== at.prevHash) return bad('inserted', `it does not follow record ${row.seq - 1} (its previous hash differs): a record was inserted or replaced`);
  if (!at.verifier.knows(body.keyId)) return bad('unknown-key', `it is signed by key ${body.keyId}, which is not trusted here (configure its public key in PROVISIONER_AUDIT_VERIFY_KEYS)`);
  if (!at.verifier.verify('record', body.keyId, row.hash, row.signature)) return bad('modified', 'its signature does not verify (modified or forged)');
  const columnsAgree = row.recorded_at === body.at && row.actor === body.actor && row.action === body.action && row.subject === body.subject
    && canonicalize([...row.apps].sort()) === canonicalize(appsOf(body.changes));
  if (!columnsAgree) return bad('modified', 'its query columns (time, actor, action, subject, apps) disagree with its signed content (modified)');
  return undefined;
}
