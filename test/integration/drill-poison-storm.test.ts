// The poison-storm drill on the real stack: bursts of bad messages of every kind the ingress tells
// apart, interleaved with the workload on the HR topic, are each parked in the DLQ under their
// reason while every good person converges (the oracle counts zero), none reaches a workflow or an
// app, old snapshots sent again are ignored, absurd sequence jumps held, and the group's lag goes
// back to 0. The broken variant is a deployment whose DLQ topic is missing (the admin step that
// creates `<topic>.dlq` skipped, the broker not creating topics on demand): the ingress cannot
// park the first poison message, its consumer crashes and restarts from the last commit, again and
// again, and never commits past it: the poison is not parked and the group's lag never goes back to
// 0 (the drill's checks fail). The good events within the in-flight window behind the poison
// (64 messages a partition) are handed over again on every restart, those beyond it never: in a
// workload this small that is timing, so the oracle's lost count is the report's, not asserted.
import { describe, expect, it } from 'vitest';
import { dlqTopicOf } from '../../ingress/dead-letters.js';
import { createKafka } from '../../kafka/client.js';
import { runDrill } from '../../drills/run-drill.js';
import { poisonStorm, poisonStormOf } from '../../drills/scenarios/poison-storm.js';
import type { Scenario } from '../../drills/scenario.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const RUN = { workers: 1, ingresses: 1, joiners: 12, rate: 6, seed: 11 } as const;

// Concurrently, each on its own pipeline, so the file takes one drill's time.
describe.concurrent('drill poison-storm', () => {
  it('passes: every poison message parked with its reason, none reached a workflow, the good people converge', async () => {
    const report = await runDrill(loadConfig(), logger, poisonStorm, RUN);
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.evidence).toMatchObject({ poisonSent: 90, kinds: 9, deadLetters: 90, parkedWithTheirReason: 90, otherDeadLetters: 0, poisonWorkflows: 0, poisonAccounts: 0, groupLagAtEnd: '0' });
    expect(report.evidence.staleReplaysIgnored).toBe(report.evidence.staleReplaysSent);
    expect(report.evidence.sequenceJumpsHeld).toBe(report.evidence.sequenceJumpsSent);
    expect(report.faultHit).toBe(true);
    expect(Object.values(report.checks ?? {}).every(Boolean)).toBe(true);
    expect(report.passed).toBe(true);
  }, 180_000);

  it('catches a pipeline whose DLQ topic is missing: the poison not parked, the group stuck behind it', async () => {
    // Behind the stuck poison few people settle: the sequence faults wait for them 5 s at most.
    const storm = poisonStormOf({ settleTimeoutMs: 5_000 });
    const withoutDlq: Scenario = {
      ...storm,
      async inject(ctx) {
        const admin = createKafka(ctx.pipeline.cfg, { clientId: `${ctx.pipeline.id}-no-dlq` }).admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [dlqTopicOf(ctx.pipeline.cfg.kafka.topics.hrLifecycle)] }).finally(() => admin.disconnect());
        await storm.inject(ctx);
      },
    };
    const report = await runDrill(loadConfig(), logger, withoutDlq, { ...RUN, quiesceTimeoutMs: 6_000 });
    // Nothing was parked, so the group never committed past the first poison message: its lag stays.
    expect(report.evidence.deadLetters).toBe(0);
    expect(report.evidence.parkedWithTheirReason).toBe(0);
    expect(report.evidence.groupLagAtEnd).not.toBe('0');
    expect(report.checks?.['every poison message is in the DLQ with its reason']).toBe(false);
    expect(report.checks?.["the ingress group's lag is back to 0"]).toBe(false);
    // The poison still reached no workflow; the good people it held up are the oracle's (see above).
    expect(report.evidence.poisonWorkflows).toBe(0);
    expect(report.oracle.counts.duplicates).toBe(0);
    expect(report.passed).toBe(false);
  }, 180_000);
});
