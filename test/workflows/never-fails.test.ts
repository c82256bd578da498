// A person's workflow never fails on a change it cannot plan: the change's outcome says why, the
// person's scheduled steps stay, and the change is tried again after its backoff, on the next
// event or on an operator's retry. A snapshot whose sequence jumps absurdly far is held for an
// operator, later ordinary events still apply, and `resequence` accepts it as the new baseline.
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { RETRY_BACKOFF } from '../../workflows/identity/retry.js';
import { accessGranted } from '../../workflows/approval-messages.js';
import { resequenceRequested, retryRequested } from '../../workflows/messages.js';
import { DAY, iso, outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities, type Breakable } from './stub-activities.js';

type Planning = Exclude<Breakable, 'recordRequestGrant'>;

const account: PlanStep = { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' };
const later = (notBefore: number): PlanStep => ({ key: 'revoke/chat/old-team', action: 'revoke', app: 'chat', entitlementId: 'old-team', reason: 'grace', notBefore: iso(notBefore) });

/** Stubs whose planning activity `broken.now` fails with an AuthError (a revoked token) while it is set. */
function breakable() {
  const broken: { now?: Planning } = {};
  let grace = 0;
  const stubs = createStubActivities({
    apps: ['chat'],
    // The hire leaves a step for ten days later; every later plan keeps it.
    plan: (input, now) => {
      if (input.eventType !== 'hr.worker.hired') return [later(grace)];
      grace = now + 10 * DAY;
      return [account, later(grace)];
    },
    breaks: (activity) => (activity === broken.now ? { type: 'AuthError', message: `chat: 401 Unauthorized (${activity})` } : undefined),
  });
  return { broken, stubs };
}

describe('a person whose change cannot be planned', () => {
  it.each<Planning>(['preparePlan', 'readAccount', 'planChange'])('survives %s failing for good and converges after the backoff', async (activity) => {
    const { broken, stubs } = breakable();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('NF'));
      await p.hr('hr.worker.hired', 1);
      broken.now = activity;
      await p.send('hr.worker.updated', 2, { title: 'Engineer' });
      const failed = await outcome(stubs, 'the unplannable change', (o) => o.sequence === 2);
      expect(failed.status).toBe('action-required');
      expect(failed.reason).toContain('401 Unauthorized');
      expect(failed.reason).toContain(`provisioner retry ${p.employeeId}`);
      const waiting = await p.until('the retry to be scheduled', (s) => s.retry !== undefined);
      expect(waiting.status).toBe('action-required');
      expect(waiting.lastAppliedSequence).toBe(1);
      expect(waiting.retry).toMatchObject({ sequence: 2, attempt: 1 });
      expect(waiting.scheduled.map((s) => s.step.key)).toEqual(['revoke/chat/old-team']);
      expect(waiting.accounts).toEqual({ chat: { accountId: `chat-${p.employeeId}` } });
      const described = await p.handle.describe();
      expect(described.status.name).toBe('RUNNING');

      // Still broken at the first retry: a second attempt, twice as far away.
      await run.env.sleep(RETRY_BACKOFF.initialMs + 1_000);
      const second = await p.until('the second attempt', (s) => s.retry?.attempt === 2);
      expect(Date.parse(second.retry!.nextAt) - Date.parse(waiting.retry!.nextAt)).toBeGreaterThanOrEqual(2 * RETRY_BACKOFF.initialMs);

      broken.now = undefined;
      await run.env.sleep(2 * RETRY_BACKOFF.initialMs + 1_000);
      const converged = await p.until('the retry to converge', (s) => s.lastAppliedSequence === 2 && s.status === 'provisioned');
      expect(converged.retry).toBeUndefined();
      expect(converged.scheduled.map((s) => s.step.key)).toEqual(['revoke/chat/old-team']);
      const retried = await outcome(stubs, 'the retried change', (o) => o.sequence === 2 && o.status === 'succeeded');
      expect(retried.changeId).toMatch(/\/retry-2$/);
    });
  });

  it('is retried at once on an operator retry, and an older event waits behind it', async () => {
    const { broken, stubs } = breakable();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('NF'));
      await p.hr('hr.worker.hired', 1);
      broken.now = 'readAccount';
      await p.send('hr.worker.updated', 3);
      await p.until('the retry to be scheduled', (s) => s.retry !== undefined);
      // Sequence 2 is older than the change waiting for its retry: ignored, not applied over it.
      await p.send('hr.worker.updated', 2);
      const ignored = await outcome(stubs, 'the older event', (o) => o.sequence === 2);
      expect(ignored.status).toBe('ignored');
      expect(ignored.reason).toContain('sequence 3 waits for its retry');

      broken.now = undefined;
      await p.handle.signal(retryRequested, { operator: 'ops-1' });
      const converged = await p.until('the retry to converge', (s) => s.lastAppliedSequence === 3 && s.retry === undefined);
      expect(converged.status).toBe('provisioned');
    });
  });
});

describe("a failure outside a change's planning", () => {
  it("stalls the person's workflow for a backoff, then takes the same work again", async () => {
    const broken = { now: false };
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input) => (input.eventType === 'hr.worker.hired' ? [account] : input.eventType === 'itsm.access.requested' ? [{ key: 'grant/chat/war-room', action: 'grant', app: 'chat', entitlementId: 'war-room', reason: 'request' }] : []),
      breaks: (activity) => (broken.now && activity === 'recordRequestGrant' ? { type: 'StoreRefused', message: 'the store refused the grant (scripted)' } : undefined),
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('ST'));
      await p.hr('hr.worker.hired', 1);
      broken.now = true;
      await p.handle.signal(accessGranted, { ticketId: 'CHG-1', eventId: 'CHG-1-granted', requesterId: p.employeeId, app: 'chat', entitlementId: 'war-room', approvalIds: [] });
      const stalled = await p.until('the stall', (s) => s.status === 'failed' && s.retry !== undefined);
      expect(stalled.retry).toMatchObject({ changeId: 'workflow', attempt: 1 });
      expect(stalled.retry!.reason).toContain('the store refused the grant');
      expect((await p.handle.describe()).status.name).toBe('RUNNING');

      broken.now = false;
      await run.env.sleep(RETRY_BACKOFF.initialMs + 1_000);
      await p.until('the grant after the stall', (s) => s.status === 'provisioned' && s.retry === undefined && s.pendingEvents === 0);
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual(['war-room']);
    });
  });
});

describe("a person's scheduled step that fails", () => {
  it('waits again for a backoff instead of being lost, then runs', async () => {
    const DELAY = 30 * DAY;
    const broken = { now: false };
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) =>
        input.eventType === 'hr.worker.hired'
          ? [account]
          : [
              { key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver' },
              { key: 'deleteAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'leaver deletion delay', notBefore: iso(now + DELAY) },
            ],
      fails: (step) => broken.now && step.action === 'deleteAccount',
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('SF'));
      await p.hr('hr.worker.hired', 1);
      await p.hr('hr.worker.terminated', 2, { status: 'terminated' });
      broken.now = true;
      await run.env.sleep(DELAY + 1_000);
      const failed = await outcome(stubs, 'the failed deletion', (o) => o.steps.some((s) => s.action === 'deleteAccount'));
      expect(failed.status).toBe('failed');
      const waiting = await p.until('the deletion to wait again', (s) => s.scheduled.some((x) => x.attempt === 1));
      expect(waiting.scheduled.map((s) => s.step.key)).toEqual(['deleteAccount/chat']);
      expect(stubs.held('chat', p.employeeId)).toBeDefined();

      broken.now = false;
      await run.env.sleep(RETRY_BACKOFF.initialMs + 1_000);
      const done = await p.until('the deletion to run', (s) => s.scheduled.length === 0 && s.status === 'deprovisioned');
      expect(done.accounts).toEqual({});
      expect(stubs.held('chat', p.employeeId)).toBeUndefined();
    });
  });
});

describe('an absurd sequence', () => {
  it('is held for an operator, later events still apply, and resequence makes it the baseline', async () => {
    const stubs = createStubActivities({ apps: ['chat'], maxSequenceJump: 1_000, plan: (input) => (input.eventType === 'hr.worker.hired' ? [account] : []) });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('AS'));
      await p.hr('hr.worker.hired', 1);
      await p.send('hr.worker.updated', 5_000_000, { title: 'Renumbered' });
      const held = await outcome(stubs, 'the absurd sequence', (o) => o.sequence === 5_000_000);
      expect(held.status).toBe('action-required');
      expect(held.reason).toContain('lifecycle.maxSequenceJump is 1000');
      const state = await p.until('the held event to show', (s) => s.held !== undefined);
      expect(state.held).toMatchObject({ sequence: 5_000_000, eventType: 'hr.worker.updated' });
      expect(state.lastAppliedSequence).toBe(1);

      // Not frozen: the feed's next ordinary event applies.
      const next = await p.hr('hr.worker.updated', 2);
      expect(next.lastAppliedSequence).toBe(2);
      expect(next.held?.sequence).toBe(5_000_000);

      await p.handle.signal(resequenceRequested, { operator: 'ops-1', reason: 'HRIS renumbered' });
      const realigned = await p.until('the held snapshot to be applied', (s) => s.lastAppliedSequence === 5_000_000);
      expect(realigned.held).toBeUndefined();
      expect(realigned.status).toBe('provisioned');
      // Events of the old numbering are now older than the baseline.
      await p.send('hr.worker.updated', 3);
      expect((await outcome(stubs, 'an event of the old numbering', (o) => o.sequence === 3)).status).toBe('ignored');
    });
  });
  it('a resequenced change that fails to plan keeps its accepted jump when retried, instead of being held again', async () => {
    const broken: { now?: Planning } = {};
    const stubs = createStubActivities({
      apps: ['chat'],
      maxSequenceJump: 1_000,
      plan: (input) => (input.eventType === 'hr.worker.hired' ? [account] : []),
      breaks: (activity) => (activity === broken.now ? { type: 'AuthError', message: `chat: 401 Unauthorized (${activity})` } : undefined),
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('AR'));
      await p.hr('hr.worker.hired', 1);
      await p.send('hr.worker.updated', 5_000_000, { title: 'Renumbered' });
      await p.until('the held event to show', (s) => s.held !== undefined);
      broken.now = 'planChange';
      await p.handle.signal(resequenceRequested, { operator: 'ops-1', reason: 'HRIS renumbered' });
      const failing = await p.until('the resequenced change to wait for its retry', (s) => s.retry !== undefined && s.held === undefined);
      expect(failing.lastAppliedSequence).toBe(1);
      broken.now = undefined;
      await p.handle.signal(retryRequested, { operator: 'ops-1' });
      const realigned = await p.until('the held snapshot to be applied', (s) => s.lastAppliedSequence === 5_000_000);
      expect(realigned.retry).toBeUndefined();
      expect(realigned.held).toBeUndefined();
      expect(stubs.outcomes.filter((o) => o.sequence === 5_000_000 && o.status === 'action-required' && (o.reason ?? '').includes('maxSequenceJump'))).toHaveLength(1);
    });
  });
  it('an ordinary event arriving with an absurd one is still applied', async () => {
    const stubs = createStubActivities({ apps: ['chat'], maxSequenceJump: 1_000, plan: (input) => (input.eventType === 'hr.worker.hired' ? [account] : []) });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('AB'));
      await p.hr('hr.worker.hired', 1);
      await Promise.all([p.send('hr.worker.updated', 2, { title: 'Lead' }), p.send('hr.worker.updated', 5_000_000, { title: 'Renumbered' })]);
      const state = await p.until('the ordinary event applied and the absurd one held', (s) => s.lastAppliedSequence === 2 && s.held !== undefined);
      expect(state.held?.sequence).toBe(5_000_000);
    });
  });
});
