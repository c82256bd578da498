// The grant sweep's logic on the time-skipping test server, with its two activities stubbed: what
// it lists is bounded by the settings, every overdue grant is handed to its person's workflow once
// per sweep, under an event id made of the sweep's workflow id and the grant's, and a grant that
// settled since it was listed counts as settled, not asked.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import type { AskToRevokeInput, GrantSweepActivities, OverdueGrant } from '../../activities/grant-sweep.js';
import type { GrantSweepResult, grantSweep } from '../../workflows/grant-sweep.js';
import { unique } from './harness.js';
import { tracingOff } from '../../observability/tracing/provider.js';
import { workflowSinks } from '../../observability/tracing/temporal.js';

const overdue = (n: number): OverdueGrant => ({
  grantId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  employeeId: `E${n}`,
  ticketId: `T-${n}`,
  app: 'chat',
  entitlementId: 'role:support',
  expiresAt: '2026-01-01T00:00:00.000Z',
});

type Recorded = { listed: Array<{ graceMinutes: number; limit: number }>; asked: AskToRevokeInput[] };

/** Runs one sweep whose list answers `grants`; `settled` grant ids answer `settled`, `flaky` ones fail once first. */
async function sweep(grants: OverdueGrant[], options: { settled?: string[]; flaky?: string[] } = {}): Promise<{ result: GrantSweepResult; recorded: Recorded; workflowId: string; taskQueue: string }> {
  const recorded: Recorded = { listed: [], asked: [] };
  const failedOnce = new Set<string>();
  const activities: GrantSweepActivities = {
    async listOverdueRequestGrants(input) {
      recorded.listed.push(input);
      return grants.slice(0, input.limit);
    },
    async askIdentityToRevokeGrant(input) {
      if (options.flaky?.includes(input.grant.grantId) && !failedOnce.has(input.grant.grantId)) {
        failedOnce.add(input.grant.grantId);
        throw new Error('Temporal was briefly unreachable');
      }
      recorded.asked.push(input);
      return options.settled?.includes(input.grant.grantId) ? 'settled' : 'asked';
    },
  };
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: inject('testServer') } } });
  try {
    const taskQueue = unique('sweep');
    const workflowId = unique('grant-sweep/test');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: inject('workflowBundle') }, sinks: workflowSinks(tracingOff), activities });
    const result = await worker.runUntil(env.client.workflow.execute<typeof grantSweep>('grantSweep', { workflowId, taskQueue, args: [{ graceMinutes: 2, maxPerRun: 50 }] }));
    return { result, recorded, workflowId, taskQueue };
  } finally {
    await env.teardown();
  }
}

describe('grant sweep', () => {
  it('hands every overdue grant, at most maxPerRun, to its person once, with the sweep id and its own queue', async () => {
    const grants = Array.from({ length: 73 }, (_, i) => overdue(i));
    const { result, recorded, workflowId, taskQueue } = await sweep(grants);
    expect(recorded.listed).toEqual([{ graceMinutes: 2, limit: 50 }]);
    expect(result).toEqual({ found: 50, asked: 50, settled: 0 });
    expect(recorded.asked.map((a) => a.grant.grantId).sort()).toEqual(grants.slice(0, 50).map((g) => g.grantId).sort());
    expect(new Set(recorded.asked.map((a) => `${a.sweepId}|${a.taskQueue}|${a.graceMinutes}`))).toEqual(new Set([`${workflowId}|${taskQueue}|2`]));
  });

  it('counts a grant revoked since the listing as settled, and retries one whose hand-over failed', async () => {
    const grants = [overdue(1), overdue(2), overdue(3)];
    const { result, recorded } = await sweep(grants, { settled: [grants[1]!.grantId], flaky: [grants[2]!.grantId] });
    expect(result).toEqual({ found: 3, asked: 2, settled: 1 });
    expect(recorded.asked.map((a) => a.grant.grantId).sort()).toEqual(grants.map((g) => g.grantId).sort());
  });

  it('does nothing when nothing is overdue', async () => {
    const { result, recorded } = await sweep([]);
    expect(result).toEqual({ found: 0, asked: 0, settled: 0 });
    expect(recorded.asked).toEqual([]);
  });
});
