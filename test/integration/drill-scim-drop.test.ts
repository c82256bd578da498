// The scim-drop drill on the real stack: both drill SCIM apps commit 15 % of their writes and
// drop the connection without answering (the registered drill drops 5 %; with 12 joiners, 15 %
// makes sure drops happen), for the whole workload; the pipeline (one worker, one ingress) retries
// and the connector's read-before-create makes every retried create land once: zero duplicates.
// And the same drill, at the same time on a pipeline of its own, against apps that behave as some
// real SCIM servers do, both at once: no uniqueness on userName or externalId, and a search index
// that lags the writes by 30 s (a filter does not find a user created since). The retried create's
// read finds nothing, the create succeeds again, and the oracle counts the duplicates (without
// waiting for that pipeline to settle: the duplicates are made within seconds).
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { both } from '../helpers/both.js';
import { scimDropOf } from '../../drills/scenarios/scim-drop.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const small = { joiners: 12, rate: 12, seed: 5, workers: 1, ingresses: 1 };

describe('drill scim-drop', () => {
  it('passes: zero duplicates although writes were dropped after commit; counts duplicates against apps without uniqueness and with a lagging search', async () => {
    // A quarter of writes dropped there, so that creates surely are (a duplicate needs a dropped create).
    const lagging = scimDropOf({ rate: 0.25, settleTimeoutMs: 15_000, appBehaviour: { duplicateUsers: true, searchLagMs: 30_000 } });
    // Two pipelines at once: the suite's time is the constraint.
    const [report, broken] = await both(runDrill(loadConfig(), logger, scimDropOf({ rate: 0.15 }), small), runDrill(loadConfig(), logger, lagging, { ...small, quiesceTimeoutMs: 1_000 }));

    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(Number(report.evidence.droppedAfterCommit)).toBeGreaterThan(0);
    expect(Number(report.evidence.retriedActivities)).toBeGreaterThan(0);
    expect(report.faultHit).toBe(true);
    expect(report.passed).toBe(true);

    expect(broken.faultHit).toBe(true);
    expect(broken.oracle.counts.duplicates).toBeGreaterThan(0);
    for (const who of broken.oracle.examples.duplicates) expect(who).toMatch(/^drill-(chat|code):D/);
    expect(broken.passed).toBe(false);
  }, 300_000);
});
