// The temporal-restart drill on a Temporal server the drill owns (never the stack's): SIGKILLed in
// the middle of the workload and started again on its SQLite file, the workers and ingress ride it
// out and the oracle counts zero. The broken variant runs the same server without persistence (its
// file gone on restart, as a container without a volume loses it): the workflows started before
// the crash are gone, and the oracle counts their people lost.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { temporalRestart, temporalRestartOf } from '../../drills/scenarios/temporal-restart.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const RUN = { joiners: 12, rate: 3, seed: 3, workers: 1, ingresses: 1 } as const;

// Concurrently (each on its own Temporal server and pipeline): the pass case waits out the activity
// timeouts of the completions the crash lost, and the file must stay near a minute.
describe.concurrent('drill temporal-restart', () => {
  it('passes: the server crashed and came back on its file, nothing duplicated, missing or lost', async () => {
    const report = await runDrill(loadConfig(), logger, temporalRestart, { ...RUN, quiesceTimeoutMs: 60_000 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.oracle.people).toBe(RUN.joiners);
    expect(Number(report.evidence.crashedPid)).toBeGreaterThan(0);
    expect(report.evidence.workflowsFound).toBe(RUN.joiners);
    expect(report.evidence.signalsReceived).toBeGreaterThanOrEqual(report.parameters.events);
    // The worker's polls failed while the server was down, and they reconnected.
    expect(Number(report.evidence.workerPollFailures)).toBeGreaterThan(0);
    expect(report.timeline.some((t) => t.what.startsWith('Temporal serving again'))).toBe(true);
    expect(report.faultHit).toBe(true);
    expect(report.checks).toEqual({ 'every worker and ingress process rode out the restart (none exited)': true });
    expect(report.passed).toBe(true);
  }, 240_000);

  it('fails when the server restarts without its storage: the oracle counts the people whose workflows are gone', async () => {
    const report = await runDrill(loadConfig(), logger, temporalRestartOf({ persistent: false }), { ...RUN, quiesceTimeoutMs: 5_000 });
    expect(report.timeline.some((t) => t.what.includes('storage is gone'))).toBe(true);
    expect(report.faultHit).toBe(true);
    expect(report.quiescent).toBe(false);
    expect(report.oracle.counts.lost).toBeGreaterThan(0);
    expect(Number(report.evidence.workflowsFound)).toBeLessThan(RUN.joiners);
    expect(report.passed).toBe(false);
  }, 240_000);
});
