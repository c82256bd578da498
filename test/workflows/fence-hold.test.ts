// The fence: a destructive step past the fence's limit is held, however long, until an operator
// releases its batch (the step then runs) or rejects it (the step never runs, nor its scheduled
// follow-ups). The real fence workflow answers the permits (update-with-start) and signals its
// decision to the person's workflow.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import protos from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import type { PlanStep } from '../../policy/planner.js';
import { fenceDecision, fenceWorkflowId, getFenceState, rejectBatch, releaseBatch, scopeKey } from '../../workflows/fence-messages.js';
import { retryRequested } from '../../workflows/messages.js';
import { DAY, iso, outcome, scenario, unique, until, type Scenario } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';


/** Hires make an account; a termination disables it at once and deletes it a week later; every disable is over the fence's limit. */
const leaverStubs = () =>
  createStubActivities({
    apps: ['chat'],
    plan: (input, now): PlanStep[] =>
      input.eventType === 'hr.worker.hired'
        ? [{ key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' }]
        : [
            { key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver', fenced: 'disableAccount' },
            { key: 'deleteAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'leaver deletion delay', after: 'P7D', notBefore: iso(now + 7 * DAY), fenced: 'deleteAccount' },
          ],
    fence: { limits: { [scopeKey('app', 'chat', 'disableAccount')]: 0 } },
  });

/** A leaver whose disable the fence holds: held, and still held days later. */
async function heldLeaver(run: Scenario, stubs: ReturnType<typeof leaverStubs>) {
  const p = person(run, unique('F'));
  await p.hr('hr.worker.hired', 1);
  await p.send('hr.worker.terminated', 2, { status: 'terminated' });
  const held = await p.until('the disable to be held by the fence', (s) => s.fenceHold !== undefined);
  expect(held.fenceHold!.steps).toEqual(['disableAccount/chat']);
  const fence = run.env.client.workflow.getHandle(fenceWorkflowId(run.taskQueue));
  expect((await fence.query(getFenceState)).held.map((h) => h.employeeId)).toEqual([p.employeeId]);

  // An operator's decision has no deadline: three days on, the step is still held.
  await run.env.sleep(3 * DAY);
  expect((await p.state()).fenceHold?.batchId).toBe(held.fenceHold!.batchId);
  expect(stubs.connectorCalls().filter((c) => c.action === 'disableAccount')).toEqual([]);
  expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
  return { p, fence, batchId: held.fenceHold!.batchId };
}

const RETRY = { operator: 'op-2', reason: 'the feed was right after all' };

describe('the fence', () => {
  it('holds a destructive step until an operator releases its batch; the step then runs', async () => {
    const stubs = leaverStubs();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const { p, fence, batchId } = await heldLeaver(run, stubs);

      const batch = await fence.executeUpdate(releaseBatch, { args: [{ batchId, operator: 'op-1' }] });
      expect(batch.status).toBe('released');
      const done = await p.until('the released leaver to be deprovisioned', (s) => s.status === 'deprovisioned' && s.fenceHold === undefined);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
      expect(done.scheduled.map((s) => s.step.key)).toEqual(['deleteAccount/chat']);
      const left = await outcome(stubs, 'the termination', (o) => o.sequence === 2 && o.eventType === 'hr.worker.terminated');
      expect(left.status).toBe('succeeded');
      expect(left.steps.map((s) => `${s.action} ${s.outcome}`)).toEqual(['disableAccount applied']);
    });
  });

  it('a rejected batch changes nothing: the step is reported rejected and its scheduled follow-up is dropped', async () => {
    const stubs = leaverStubs();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const { p, fence, batchId } = await heldLeaver(run, stubs);

      await fence.executeUpdate(rejectBatch, { args: [{ batchId, operator: 'op-1' }] });
      const left = await outcome(stubs, 'the termination', (o) => o.sequence === 2 && o.eventType === 'hr.worker.terminated');
      expect(left.status).toBe('action-required');
      expect(left.steps.map((s) => `${s.action} ${s.outcome}`)).toEqual(['disableAccount rejected']);
      const state = await p.until('the rejection to be settled', (s) => s.fenceHold === undefined && s.status === 'fence-rejected');
      expect(state.scheduled).toEqual([]);

      // Not even after the deletion delay.
      await run.env.sleep(8 * DAY);
      await until('the fence to list nothing held', async () => ((await fence.query(getFenceState)).held.length === 0 ? true : undefined));
      expect(stubs.connectorCalls().filter((c) => c.action === 'disableAccount' || c.action === 'deleteAccount')).toEqual([]);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
      expect((await p.state()).status).toBe('fence-rejected');

      // An operator's retry asks the fence again (a new request, held in a new batch); released, the leaver is deprovisioned.
      await p.handle.signal(retryRequested, RETRY);
      const again = await p.until('the retried change to be held', (s) => s.fenceHold !== undefined && s.fenceHold.batchId !== batchId);
      await fence.executeUpdate(releaseBatch, { args: [{ batchId: again.fenceHold!.batchId, operator: 'op-2' }] });
      await p.until('the retried leaver to be deprovisioned', (s) => s.status === 'deprovisioned');
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
    });
  });

  it('a decision whose signal was lost is found in the store: the held person moves on at the next re-check', async () => {
    const stubs = leaverStubs();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const { p, fence, batchId } = await heldLeaver(run, stubs);
      const [ask] = (await fence.query(getFenceState)).held;
      // Released in the store, but no fenceDecision signal reaches the workflow.
      stubs.decideInStore(ask!.requestId, { batchId, decision: 'released', operators: ['op-1', 'op-2'] });
      // Three days held: the reads are hourly by now.
      await run.env.sleep(61 * 60_000);
      const done = await p.until('the leaver released from the store to be deprovisioned', (s) => s.status === 'deprovisioned' && s.fenceHold === undefined);
      expect(done.scheduled.map((s) => s.step.key)).toEqual(['deleteAccount/chat']);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
      // Read on the timer while held: after 5 minutes, then less often, hourly at most (3 days: about 75 reads, not 864).
      const reads = stubs.calls.filter((c) => c.activity === 'readFenceDecision');
      expect(reads.length).toBeGreaterThan(70);
      expect(reads.length).toBeLessThan(80);
      expect(reads[1]!.at - reads[0]!.at).toBeGreaterThanOrEqual(10 * 60_000 - 1_000);
    });
  });

  it('a decision meant for another ask in the same batch does not end the wait', async () => {
    const stubs = leaverStubs();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const { p, fence, batchId } = await heldLeaver(run, stubs);
      // Told twice about an earlier ask of this person in the same open batch (read from the store, then signalled).
      await p.handle.signal(fenceDecision, { batchId, decision: 'released', operators: ['op-1', 'op-2'], requestId: `${p.handle.workflowId}/an-earlier-change` });
      await run.env.sleep(2 * 60 * 60_000);
      expect((await p.state()).fenceHold?.batchId).toBe(batchId);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
      const [ask] = (await fence.query(getFenceState)).held;
      await p.handle.signal(fenceDecision, { batchId, decision: 'released', operators: ['op-1', 'op-2'], requestId: ask!.requestId });
      await p.until('the leaver released by its own decision', (s) => s.status === 'deprovisioned' && s.fenceHold === undefined);
    });
  });

  it('a rejection whose signal was lost is found in the store at the first re-check (5 minutes): the person says fence-rejected', async () => {
    const stubs = leaverStubs();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('F'));
      await p.hr('hr.worker.hired', 1);
      await p.send('hr.worker.terminated', 2, { status: 'terminated' });
      const held = await p.until('the disable to be held by the fence', (s) => s.fenceHold !== undefined);
      const fence = run.env.client.workflow.getHandle(fenceWorkflowId(run.taskQueue));
      const [ask] = (await fence.query(getFenceState)).held;
      stubs.decideInStore(ask!.requestId, { batchId: held.fenceHold!.batchId, decision: 'rejected', operators: ['op-1'] });
      await run.env.sleep(6 * 60_000);
      await p.until('the rejection to be settled', (s) => s.fenceHold === undefined && s.status === 'fence-rejected');
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
      expect(stubs.calls.filter((c) => c.activity === 'readFenceDecision')).toHaveLength(1);
      // With UPDATE_REPLAY_HISTORIES=1 the shape is kept for test/replay/ (replayed on every run).
      if (process.env.UPDATE_REPLAY_HISTORIES === '1') {
        const { History } = protos.temporal.api.history.v1;
        const history = History.toObject(History.fromObject(await p.handle.fetchHistory()), { longs: String, enums: String, bytes: String });
        writeFileSync(path.join(projectRoot, 'test', 'replay', 'histories', 'identity-lifecycle-6-fence-recheck-store.json'), JSON.stringify(history, null, 1));
      }
    });
  });
});
