// `provisioner drill run approvals`: of four access requests for drill-code's `admin`, the one a
// drill approver approved is granted; the forged decision (signed with a key the ITSM never had),
// the beneficiary's own approval and the requester's are refused and audited, and their requests
// still wait. The same drill on an ingress whose decision keys also trust the forger's key (a
// misconfigured itsm.decisionKeys) grants the forged request, and the drill fails.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../drills/run-drill.js';
import { approvalsOf } from '../../drills/scenarios/approvals.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

const ZERO = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
const SMALL = { joiners: 12, rate: 12, seed: 13, workers: 1, ingresses: 1 };

// Concurrently, each on its own pipeline, so the file takes one drill's time.
describe.concurrent('drill approvals', () => {
  it('passes: only the real approver\'s decision grants; forged, self and requester approvals are refused and audited', async () => {
    const report = await runDrill(loadConfig(), logger, approvalsOf({ trustForger: false }), SMALL);
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual(ZERO);
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.evidence).toMatchObject({ requestsPerKind: 1, approvedGranted: 1, forgedGranted: 0, selfGranted: 0, requesterGranted: 0, forgedStillWaiting: 1, selfStillWaiting: 1, requesterStillWaiting: 1, holdersOfTheEntitlement: 1 });
    expect(report.evidence.refusedDecisionsAudited).toBe(3);
    expect(report.faultHit).toBe(true);
    expect(Object.values(report.checks ?? {})).toEqual([true, true, true, true, true, true]);
    expect(report.passed).toBe(true);
  }, 300_000);

  it('fails "no forged decision granted anything" when the ingress trusts the forger\'s key', async () => {
    const report = await runDrill(loadConfig(), logger, approvalsOf({ trustForger: true }), SMALL);
    expect(report.quiescent).toBe(true);
    expect(report.evidence).toMatchObject({ approvedGranted: 1, forgedGranted: 1, forgedStillWaiting: 0, selfGranted: 0, requesterGranted: 0, refusedDecisionsAudited: 2 });
    expect(report.checks?.['no forged decision granted anything (each request still waits for a real approver)']).toBe(false);
    expect(report.checks?.['no approval by the beneficiary granted anything']).toBe(true);
    expect(report.passed).toBe(false);
  }, 300_000);
});
