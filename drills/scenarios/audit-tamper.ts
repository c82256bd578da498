// After the workload, the audit trail tampered with in every way an attacker with write access to
// the database can (drills/audit-tampering.ts: a record modified, deleted, forged in, swapped, the
// tail truncated with the head rolled back), each on its own copy at a seeded random record, and
// verified as `provisioner audit verify` does (store/audit-verify.ts) with the checkpoints the
// drill's workers wrote: every tampering must be detected at the record it hit. A truncation
// that also rolls the head back is only visible against a checkpoint outside the database.
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoints } from '../../store/audit-checkpoints.js';
import { verifyAuditChain } from '../../store/audit-verify.js';
import { TAMPERINGS, onTamperedCopy, type Tampering } from '../audit-tampering.js';
import { quiesce } from '../run-drill.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

/** How long to wait for the workers' checkpointer to sign a head (it signs every 30 s by default). */
const CHECKPOINT_WAIT_MS = 120_000;

type Detection = { seq: number; rows: number; detected: boolean; kind?: string; at?: number; message?: string };
const detections = new WeakMap<ScenarioContext, { checkpointSeq: number; head: number; found: Map<Tampering, Detection> }>();

/**
 * The newest checkpoint the drill's workers wrote to its checkpoint file, once one covers more than
 * the first record: a tail can be cut only below a checkpoint, and one signed at a worker's start
 * (seq 1) leaves nothing to cut (seen on an idle machine, where the workload settled before the
 * checkpointer's next signature).
 */
async function newestCheckpoint(ctx: ScenarioContext): Promise<number> {
  const deadline = Date.now() + CHECKPOINT_WAIT_MS;
  for (;;) {
    const { checkpoints } = await readCheckpoints(ctx.pipeline.cfg.audit.checkpointsFile, ctx.pipeline.store.keys.verifier);
    const newest = Math.max(0, ...checkpoints.map((c) => c.seq));
    if (newest >= 2 || Date.now() > deadline) return newest;
    await sleep(2_000);
  }
}

function tamperInject(withCheckpoints: boolean) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { pipeline, timeline } = ctx;
    await ctx.published;
    if (!(await quiesce(pipeline.client, ctx.workload.ledger, 5 * 60_000))) throw new Error('the workload did not settle before the tampering');
    const checkpointSeq = await newestCheckpoint(ctx);
    const head = Number((await pipeline.store.pool.query<{ seq: string }>('select seq from audit_head')).rows[0]!.seq);
    timeline.push({ at: Date.now(), what: `audit trail: ${head} records, newest checkpoint at seq ${checkpointSeq}` });
    await ctx.tabletop(`the audit trail holds ${head} records (newest checkpoint at seq ${checkpointSeq}); the drill tampers with copies of it when you go on`);
    const found = new Map<Tampering, Detection>();
    detections.set(ctx, { checkpointSeq, head, found });
    const keyId = pipeline.store.keys.signer!.keyId;
    for (const kind of TAMPERINGS) {
      // A random record past the first (a deletion or swap below the head); a cut of the tail starts at or below the newest checkpoint.
      const last = kind === 'truncate' ? Math.max(2, checkpointSeq) : kind === 'modify' || kind === 'insert' ? head : head - 1;
      const seq = 2 + Math.floor(ctx.random() * Math.max(1, last - 1));
      const result = await onTamperedCopy(pipeline.cfg, kind, seq, keyId, async (pool, tampered) => {
        const verified = await verifyAuditChain(pool, { verifier: pipeline.store.keys.verifier, ...(withCheckpoints ? { checkpointsFile: pipeline.cfg.audit.checkpointsFile } : {}) });
        const p = verified.problem;
        return { seq, rows: tampered.rows, detected: !verified.ok, ...(p ? { kind: p.kind, at: p.seq, message: p.message } : {}) };
      });
      found.set(kind, result);
      timeline.push({ at: Date.now(), what: `${kind} at seq ${seq} (${result.rows} rows): ${result.detected ? `detected, ${result.kind} at ${result.at}` : 'NOT detected'}` });
    }
  };
}

/** Per tampering: where it hit, how many rows it changed, and what verification said. */
async function evidence(ctx: ScenarioContext): Promise<Evidence> {
  const seen = detections.get(ctx);
  const out: Evidence = { records: seen?.head ?? 0, newestCheckpointSeq: seen?.checkpointSeq ?? 0 };
  for (const kind of TAMPERINGS) {
    const d = seen?.found.get(kind);
    out[`${kind}Seq`] = d?.seq ?? 0;
    out[`${kind}Rows`] = d?.rows ?? 0;
    out[`${kind}Detected`] = d ? (d.detected ? `${d.kind} at ${d.at}` : 'no') : 'not run';
  }
  return out;
}

/** The first record verification should name for each tampering: the tampered one, or the first cut off. */
const detectedAt = (e: Evidence, kind: Tampering, expected: string) => e[`${kind}Detected`] === `${expected} at ${e[`${kind}Seq`]}`;

/** The scenario; `withCheckpoints: false` verifies as a deployment that reads no checkpoint would. */
export function auditTamperOf(options: { withCheckpoints: boolean }): Scenario {
  return {
    name: 'audit-tamper',
    fault: 'the audit trail modified, deleted from, inserted into, reordered and truncated (each on a copy) after the workload',
    defaults: { joiners: 60, rate: 10, leaverShare: 0.05 },
    inject: tamperInject(options.withCheckpoints),
    evidence,
    // Every tampering changed rows of its copy.
    hit: (e) => TAMPERINGS.every((k) => Number(e[`${k}Rows`]) > 0),
    tabletop: [
      'Verify the trail as an auditor would: `npx provisioner audit verify` (it names the first record that does not hold and what is wrong with it)',
      'Dashboard "Audit checkpoint age by destination": the checkpoints are what catch a truncated tail; alert ProvisionerAuditCheckpointStale (docs/runbook.md#provisionerauditcheckpointstale)',
      'A failed verification is a security incident: keep the database as it is and follow docs/runbook.md',
    ],
    checks: (e) => ({
      'a modified record is detected at its seq': detectedAt(e, 'modify', 'modified'),
      'a deleted record is detected at its seq': detectedAt(e, 'delete', 'missing'),
      // Forged under the real key id with another key: its signature fails.
      'an inserted forged record is detected at its seq': detectedAt(e, 'insert', 'modified'),
      'two swapped records are detected at the first': detectedAt(e, 'reorder', 'reordered'),
      'a truncated tail (head rolled back) is detected at the first record cut': detectedAt(e, 'truncate', 'truncated'),
    }),
  };
}

export const auditTamper = auditTamperOf({ withCheckpoints: true });
