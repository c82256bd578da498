// `provisioner drill run broker-kill`: on the three-broker cluster (started by the drill when it is
// not up, stopped again afterwards), the broker leading some of the drill's partitions SIGKILLed
// mid-workload and restarted: its leaderships move, the ISRs shrink and grow back, and the oracle
// counts nothing lost, duplicated or missing. On topics of one copy the same kill stops the drill.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { brokerKill } from '../../drills/scenarios/broker-kill.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

describe('drill broker-kill', () => {
  it('passes: a leader killed and restarted, leaderships moved, ISRs shrunk and expanded, zero lost', async () => {
    const report = await runDrill(loadConfig(), logger, brokerKill, { joiners: 30, rate: 2, seed: 3 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(report.oracle.chain.ok).toBe(true);
    expect(Number(report.evidence.partitionsItLed)).toBeGreaterThan(0);
    expect(report.evidence.leadershipsMoved).toBe(report.evidence.partitionsItLed);
    expect(report.evidence.smallestIsr).toBe(2);
    expect(report.evidence.isrExpandedAfterRestart).toBe('yes');
    expect(report.faultHit).toBe(true);
    expect(report.passed).toBe(true);
  }, 400_000);
});

describe('drill broker-kill on topics of one copy', () => {
  // The same drill with the pipeline's topics created with one copy (replication factor 1, a
  // configuration of the pipeline): the killed broker's partitions have no replica to take over, so
  // the feed cannot publish to them and the drill stops with the cluster's answer (no leader, or the
  // dead broker refusing the connection) instead of passing.
  it('fails: the killed broker\'s partitions have no leader while it is down', async () => {
    const oneCopy = {
      ...brokerKill,
      prepare: async (base: Config, say: (line: string) => void) => {
        const prepared = await brokerKill.prepare!(base, say);
        return { ...prepared, base: { ...prepared.base, kafka: { ...prepared.base.kafka, replicationFactor: 1, minInsyncReplicas: 1 } } };
      },
    };
    await expect(runDrill(loadConfig(), logger, oneCopy, { joiners: 30, rate: 2, seed: 3 })).rejects.toThrow(/no leader for this topic-partition|ECONNREFUSED/);
  }, 400_000);
});
