// `provisioner drill run mass-termination`: every one of 30 joiners terminated at once against the
// example policy's fence (50 disables per source in the window: each leaver is two, one per drill
// app, so 25 people) holds the other 5 with their access until two operators release them, and the
// oracle sees everyone converge. The same drill on a pipeline whose fence thresholds are raised out
// of reach (the drill's sized-to-workload policy: the fence effectively disabled) fails its check
// "the fence held": everyone lost access at once.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { examplePeopleThreshold, massTerminationOf } from '../../drills/scenarios/mass-termination.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const JOINERS = 30;
const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };

// Concurrently, each on its own pipeline, so the file takes one drill's time.
describe.concurrent('drill mass-termination', () => {
  it('passes: the fence holds everyone beyond its threshold, two operators release them, the oracle counts zero', async () => {
    const threshold = examplePeopleThreshold(JOINERS);
    expect(threshold).toBe(25);
    const report = await runDrill(loadConfig(), logger, massTerminationOf(1), { joiners: JOINERS, rate: 10, seed: 5, workers: 1, ingresses: 1 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.evidence).toMatchObject({ terminated: JOINERS, heldRequests: JOINERS - threshold, lostAccessBeforeRelease: threshold, heldWhoLostAccess: 0, heldBatches: 1, batchesReleased: 1, stillHeld: 0, firstReleaseKeptBatchOpen: 'yes' });
    expect(report.evidence.batches).toMatch(/^batch-\S+ released by drill-operator-a and drill-operator-b \(\d+ people\)$/);
    expect(report.faultHit).toBe(true);
    expect(Object.values(report.checks ?? {})).toEqual([true, true, true, true, true]);
    expect(report.passed).toBe(true);
  }, 300_000);

  it('fails "the fence held" when the pipeline runs with the fence thresholds raised out of reach', async () => {
    const unfenced = { ...massTerminationOf(1), pipeline: { fence: 'sized-to-workload' as const } };
    const report = await runDrill(loadConfig(), logger, unfenced, { joiners: JOINERS, rate: 10, seed: 5, workers: 1, ingresses: 1 });
    expect(report.quiescent).toBe(true);
    // Everyone converged (the leavers disabled): only the fence's check sees the harm.
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.faultHit).toBe(true);
    expect(report.evidence).toMatchObject({ terminated: JOINERS, heldRequests: 0, lostAccessBeforeRelease: JOINERS });
    expect(report.checks?.['the fence held (held requests > 0)']).toBe(false);
    expect(report.checks?.['nobody beyond the example threshold lost access before the release']).toBe(false);
    expect(report.passed).toBe(false);
  }, 300_000);
});
