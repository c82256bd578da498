// `provisioner drill run broker-kill`: on the three-broker cluster (started by the drill when it is
// not up, stopped again afterwards), the broker leading some of the drill's partitions SIGKILLed
// mid-workload and restarted: its leaderships move, the ISRs shrink and grow back, and the oracle
// counts nothing lost, duplicated or missing.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { brokerKill } from '../../drills/scenarios/broker-kill.js';
import { loadConfig } from '../../schemas/config.js';
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
