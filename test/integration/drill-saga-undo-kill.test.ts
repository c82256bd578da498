// The saga-undo-kill drill on the real stack: drill-code refuses for good (400) to add a quarter of
// 14 joiners to its group `tools`, their changes fail after their accounts and first grants were
// made, and their sagas undo them (the apps' DELETEs slowed to 3 s) while the one worker is
// SIGKILLed; the oracle finds the refused joiners rolled back (failed, no account left anywhere),
// everyone else provisioned, nothing duplicated, lost or unaudited. And the same drill, at the same
// time on a pipeline of its own, against apps that answer a user DELETE 204 and keep the user: the
// sagas believe them, and the oracle counts the half-provisioned people's accounts as access that
// should be gone.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { sagaUndoKillOf, type UndoKillOptions } from '../../drills/scenarios/saga-undo-kill.js';
import { loadConfig } from '../../schemas/config.js';
import { both } from '../helpers/both.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const SMALL = { joiners: 14, rate: 2, seed: 5, workers: 1, ingresses: 1, quiesceTimeoutMs: 120_000 } as const;
const OPTIONS: UndoKillOptions = { doomedShare: 0.25, deleteLatencyMs: 3_000 };
const CHECK = "every rolled-back person's account deletes are audited in both apps";

describe('drill saga-undo-kill', () => {
  it('passes: the refused joiners rolled back although the worker was killed during their undo; counts the half-provisioned when the app loses DELETEs', async () => {
    const [report, broken] = await both(
      runDrill(loadConfig(), logger, sagaUndoKillOf(OPTIONS), { ...SMALL, kills: 2 }),
      runDrill(loadConfig(), logger, sagaUndoKillOf({ ...OPTIONS, loseUserDeletes: true }), { ...SMALL, kills: 1 }),
    );

    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.oracle.people).toBe(SMALL.joiners);
    // Four of 14 refused and rolled back: the other ten hold both accounts, so 20 in all.
    expect(report.evidence.doomed).toBe(4);
    expect(report.evidence.rolledBack).toBe(4);
    expect(report.oracle.accounts).toBe(2 * (SMALL.joiners - 4));
    expect(Number(report.evidence.refused)).toBeGreaterThanOrEqual(4);
    expect(Number(report.evidence.kills)).toBeGreaterThan(0);
    expect(Number(report.evidence.killsDuringUndo)).toBeGreaterThan(0);
    expect(Number(report.evidence.undosInFlightAtKills)).toBeGreaterThan(0);
    // At least a revoke of the first grant and both deletes per rolled-back person, each audited.
    expect(Number(report.evidence.undoActivities)).toBeGreaterThanOrEqual(3 * 4);
    expect(Number(report.evidence.undoRecords)).toBeGreaterThanOrEqual(3 * 4);
    expect(report.evidence.deletesLost).toBe(0);
    expect(report.faultHit).toBe(true);
    expect(report.checks).toEqual({ [CHECK]: true });
    expect(report.passed).toBe(true);

    // The sagas finished (their deletes answered 204): the people are failed, rolled back as far as
    // the workflow knows, and their accounts are still there.
    expect(broken.quiescent).toBe(true);
    expect(broken.evidence.rolledBack).toBe(4);
    expect(Number(broken.evidence.deletesLost)).toBeGreaterThanOrEqual(2 * 4);
    expect(broken.oracle.counts).toEqual({ ...ZERO, shouldBeGone: 2 * 4 });
    for (const who of broken.oracle.examples.shouldBeGone) expect(who).toMatch(/^drill-(chat|code):D/);
    expect(broken.passed).toBe(false);
  }, 300_000);
});
