// `provisioner drill run audit-tamper`: after a small workload, each kind of tampering (a record
// modified, deleted, forged in, two swapped, the tail truncated with the head rolled back), on its
// own copy of the drill's trail, is detected at the record it hit, while the real trail stays whole.
// Verified as a deployment that reads no checkpoint (no checkpoint file, no audit topic), the
// truncation goes unseen and the drill fails that check.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { auditTamperOf } from '../../drills/scenarios/audit-tamper.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const TRUNCATION = 'a truncated tail (head rolled back) is detected at the first record cut';

// Concurrently, each on its own pipeline, so the file takes one drill's time.
describe.concurrent('drill audit-tamper', () => {
  it('passes: every tampering detected at the record it hit, the real chain whole', async () => {
    const report = await runDrill(loadConfig(), logger, auditTamperOf({ withCheckpoints: true }), { joiners: 12, rate: 10, seed: 11, workers: 1, ingresses: 1 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(Number(report.evidence.newestCheckpointSeq)).toBeGreaterThan(1);
    expect(report.evidence).toMatchObject({ modifyRows: 1, deleteRows: 1, insertRows: 1, reorderRows: 2 });
    expect(report.evidence.truncateDetected).toBe(`truncated at ${report.evidence.truncateSeq}`);
    expect(report.faultHit).toBe(true);
    expect(report.checks).toBeDefined();
    expect(Object.values(report.checks!).every(Boolean)).toBe(true);
    expect(report.passed).toBe(true);
  }, 300_000);

  it('fails the truncation check when verification reads no checkpoint', async () => {
    const report = await runDrill(loadConfig(), logger, auditTamperOf({ withCheckpoints: false }), { joiners: 12, rate: 10, seed: 11, workers: 1, ingresses: 1 });
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.faultHit).toBe(true);
    expect(report.evidence.truncateDetected).toBe('no');
    expect(report.checks?.[TRUNCATION]).toBe(false);
    // The other kinds live inside the database and are still caught.
    expect(Object.entries(report.checks ?? {}).filter(([name]) => name !== TRUNCATION).every(([, ok]) => ok)).toBe(true);
    expect(report.passed).toBe(false);
  }, 300_000);
});
