// The postgres-restart drill on a PostgreSQL the drill owns (never the stack's): stopped as a crash
// stops it (pg_ctl stop -m immediate) in the middle of the workload and started again on its data
// folder, it recovers from its WAL, the activities that failed on it are retried, and the oracle
// counts zero with the audit chain whole. The broken variant brings the database back empty (its
// data folder initialised again, as a container without a volume does): the oracle finds the audit
// trail gone and the people's last events never applied, and the drill fails.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { postgresRestart, postgresRestartOf } from '../../drills/scenarios/postgres-restart.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const RUN = { joiners: 12, rate: 3, seed: 3, workers: 1, ingresses: 1 } as const;

// Concurrently, each on its own PostgreSQL and pipeline, so the file stays near a minute.
describe.concurrent('drill postgres-restart', () => {
  it('passes: the store crashed and recovered, nothing duplicated, missing, lost or unaudited, the chain whole', async () => {
    const report = await runDrill(loadConfig(), logger, postgresRestart, { ...RUN, quiesceTimeoutMs: 60_000 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.oracle.people).toBe(RUN.joiners);
    expect(report.evidence.crashRecovery).toBe('yes');
    expect(Number(report.evidence.retriedActivitiesAfterCrash)).toBeGreaterThan(0);
    expect(Object.values(report.checks ?? {})).toEqual([true, true]);
    expect(report.faultHit).toBe(true);
    expect(report.passed).toBe(true);
  }, 240_000);

  it('fails when the database comes back empty: the audit trail is gone and the events lost', async () => {
    const report = await runDrill(loadConfig(), logger, postgresRestartOf({ durable: false }), { ...RUN, quiesceTimeoutMs: 5_000 });
    expect(report.timeline.some((t) => t.what.includes('storage is gone'))).toBe(true);
    expect(report.oracle.chain.ok).toBe(false);
    expect(report.oracle.chain.problem).toMatch(/^the audit trail could not be read/);
    // Nobody's changes can be applied on a store without its tables: their last events are lost.
    expect(report.quiescent).toBe(false);
    expect(report.oracle.counts.lost).toBeGreaterThan(0);
    expect(report.checks?.['the server recovered from its write-ahead log']).toBe(false);
    expect(report.passed).toBe(false);
  }, 240_000);
});
