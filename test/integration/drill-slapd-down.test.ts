// The slapd-down drill on the real stack, on a slapd the drill owns (never the stack's): the
// pipeline (one worker, one ingress) has an LDAP application in the drill's own subtree; slapd is
// SIGKILLed once it holds entries and started again on its data folder 15 s later; the directory's
// steps are retried, everything converges, and the oracle, which reads the directory through the
// LDAP connector's listing as well as the SCIM apps, counts zero. And at the same time, on a
// pipeline of its own, the broken variant: slapd back on an EMPTY data folder. The entries made
// before the stop are gone: the scenario's check fails and the oracle counts those people missing. (That one never quarantines: its failure is about the
// data alone.)
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { slapdDownOf } from '../../drills/scenarios/slapd-down.js';
import { loadConfig } from '../../schemas/config.js';
import { both } from '../helpers/both.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const DATA = 'slapd came back with its data (every entry listed before the stop is there after)';
const EXITED = 'every worker and ingress process rode out the outage (none exited)';
// A slow feed, so that the stop lands while people are still being provisioned.
const small = { joiners: 12, rate: 1, workers: 1, ingresses: 1 };

describe('drill slapd-down', () => {
  it('passes when slapd comes back on its data; fails when it comes back empty', async () => {
    const durable = slapdDownOf({ downMs: 15_000, keepData: true });
    const empty = slapdDownOf({ downMs: 15_000, keepData: false, quarantine: { failures: 1_000_000, window: 'PT1M', probeEvery: 'PT5S' } });
    const [report, broken] = await both(runDrill(loadConfig(), logger, durable, { ...small, seed: 3, quiesceTimeoutMs: 90_000 }), runDrill(loadConfig(), logger, empty, { ...small, seed: 4, quiesceTimeoutMs: 10_000 }));

    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    // Three applications' accounts: the two SCIM apps' and the directory's, one each per person.
    expect(report.oracle.accounts).toBe(3 * report.oracle.people);
    expect(Number(report.evidence.entriesBeforeStop)).toBeGreaterThan(0);
    expect(report.evidence.entriesLostInRestart).toBe(0);
    expect(Number(report.evidence.downMs)).toBeGreaterThanOrEqual(15_000);
    expect(Number(report.evidence.retriedDirectoryActivities)).toBeGreaterThan(0);
    expect(report.faultHit).toBe(true);
    expect(report.checks).toEqual({ [DATA]: true, [EXITED]: true });
    expect(report.passed).toBe(true);

    expect(broken.timeline.some((t) => t.what.includes('EMPTY data folder'))).toBe(true);
    expect(Number(broken.evidence.entriesLostInRestart)).toBeGreaterThan(0);
    expect(broken.evidence.entriesLostInRestart).toBe(broken.evidence.entriesBeforeStop);
    expect(broken.checks?.[DATA]).toBe(false);
    // The people the directory held before the stop are missing from it now (and, their grants failing
    // on groups that are gone, the saga undoes their SCIM accounts too: the oracle counts those as well).
    expect(broken.oracle.counts.missing).toBeGreaterThanOrEqual(Number(broken.evidence.entriesBeforeStop));
    expect(broken.passed).toBe(false);
  }, 240_000);
});
