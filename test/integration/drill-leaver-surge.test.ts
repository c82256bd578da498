// The leaver-surge drill on the real stack, time-compressed: the drill apps' queue rate is lowered
// (scimConnector.maxActivitiesPerSecond 5) so that a surge of 18 joiners on top of 6 is a backlog
// of seconds, as a surge of thousands is at the default rate, and the objective is compressed with
// it (15 s: half of DESIGN's 30; a leaver's workflow tasks still share the worker with the surge's). The leavers terminated during the surge are disabled within it: their disables take each
// app's urgent queue, which the surge's backlog does not hold up. The broken variant is the same
// pipeline with the urgent queue throttled to a trickle (scimConnector.urgentMaxActivitiesPerSecond
// 0.1, a misreading of the setting as a cap on the app's total): the leavers wait, and the drill's
// objective check fails.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { leaverSurgeOf } from '../../drills/scenarios/leaver-surge.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const OBJECTIVE_MS = 15_000;
const scenario = leaverSurgeOf({ surgeFactor: 3, leavers: 2, spreadMs: 2_000, objectiveMs: OBJECTIVE_MS });
const RUN = { workers: 1, ingresses: 1, joiners: 6, rate: 12, seed: 3 } as const;
const withRates = (joiners: number, urgent: number): Config => {
  const cfg = loadConfig();
  return { ...cfg, scimConnector: { ...cfg.scimConnector, maxActivitiesPerSecond: joiners, urgentMaxActivitiesPerSecond: urgent } };
};
const CHECK = `leaver disable p99 within the objective (${OBJECTIVE_MS / 1000} s)`;

describe('drill leaver-surge', () => {
  it('passes: the leavers are disabled within the objective while the surge is still being provisioned', async () => {
    const report = await runDrill(withRates(5, 10), logger, scenario, RUN);
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(report.oracle.people).toBe(24);
    expect(report.evidence).toMatchObject({ surgeJoiners: 18, leavers: 2, leaversDisabled: 2, objectiveMs: OBJECTIVE_MS });
    expect(Number(report.evidence.disableP99Ms)).toBeLessThanOrEqual(OBJECTIVE_MS);
    expect(report.evidence.leaversTerminatedDuringSurge).toBe(2);
    expect(Number(report.evidence.surgeLeftAtLastTerminationPct)).toBeGreaterThanOrEqual(10);
    // Leavers first: with the apps' queue this slow, the surge still had accounts to create after the last disable.
    expect(Number(report.evidence.surgeAccountsAfterLastDisable)).toBeGreaterThan(0);
    expect(report.faultHit).toBe(true);
    expect(report.checks?.[CHECK]).toBe(true);
    expect(report.passed).toBe(true);
  }, 180_000);

  it('catches a pipeline whose urgent queue is throttled: the leavers miss the objective', async () => {
    const report = await runDrill(withRates(5, 0.1), logger, scenario, { ...RUN, quiesceTimeoutMs: 5_000 });
    // Disabled late, or not before the drill read the write logs.
    expect(report.evidence.disableP99Ms === 'never' || Number(report.evidence.disableP99Ms) > OBJECTIVE_MS).toBe(true);
    expect(report.checks?.[CHECK]).toBe(false);
    expect(report.oracle.counts.duplicates).toBe(0);
    expect(report.passed).toBe(false);
  }, 180_000);
});
