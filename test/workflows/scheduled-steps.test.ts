// Steps for later wait on durable timers in the person's workflow: a mover keeps the access they
// lose until the grace period ends, a leaver's account is deleted only after the deletion delay.
// The policy's days pass in seconds on the time-skipping test server.
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { DAY, iso, outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';

const account: PlanStep = { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' };
const grant = (entitlementId: string): PlanStep => ({ key: `grant/chat/${entitlementId}`, action: 'grant', app: 'chat', entitlementId, reason: 'birthright' });

describe('steps for later', () => {
  it('a mover keeps the access they lose until the 14-day grace period ends, then loses it', async () => {
    const GRACE = 14 * DAY;
    let notBefore = 0;
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => {
        if (input.eventType === 'hr.worker.hired') return [account, grant('engineering')];
        notBefore = now + GRACE;
        return [grant('research'), { key: 'revoke/chat/engineering', action: 'revoke', app: 'chat', entitlementId: 'engineering', reason: 'grace', after: 'P14D', notBefore: iso(notBefore), fenced: 'revoke' }];
      },
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('M'));
      await p.hr('hr.worker.hired', 1);
      const moved = await p.hr('hr.worker.updated', 2, { department: 'Research' });
      expect(moved.status).toBe('provisioned');
      expect(moved.scheduled.map((s) => ({ key: s.step.key, notBefore: s.notBefore }))).toEqual([{ key: 'revoke/chat/engineering', notBefore: iso(notBefore) }]);
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual(['engineering', 'research']);
      expect((await outcome(stubs, 'the move', (o) => o.sequence === 2)).deferred?.map((d) => d.key)).toEqual(['revoke/chat/engineering']);

      // A day before the end of the grace period, nothing is lost.
      await run.env.sleep(GRACE - DAY);
      expect((await p.state()).scheduled).toHaveLength(1);
      expect(stubs.connectorCalls().filter((c) => c.action === 'revoke')).toEqual([]);

      // Once it has passed, the access goes, and not before its time.
      await run.env.sleep(2 * DAY);
      await p.until('the grace period to end', (s) => s.scheduled.length === 0);
      const revokes = stubs.connectorCalls().filter((c) => c.action === 'revoke');
      expect(revokes.map((c) => c.key)).toEqual(['revoke/chat/engineering']);
      expect(revokes[0]!.at).toBeGreaterThanOrEqual(notBefore);
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual(['research']);
      const ended = await outcome(stubs, 'the end of the grace period', (o) => o.steps.some((s) => s.action === 'revoke'));
      expect(ended.status).toBe('succeeded');
    });
  });

  it("a leaver's account is disabled at once and deleted only after the 30-day deletion delay", async () => {
    const DELAY = 30 * DAY;
    let notBefore = 0;
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => {
        if (input.eventType === 'hr.worker.hired') return [account];
        notBefore = now + DELAY;
        return [
          { key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver', fenced: 'disableAccount' },
          { key: 'deleteAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'leaver deletion delay', after: 'P30D', notBefore: iso(notBefore), fenced: 'deleteAccount' },
        ];
      },
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('L'));
      await p.hr('hr.worker.hired', 1);
      const left = await p.hr('hr.worker.terminated', 2, { status: 'terminated' });
      expect(left.status).toBe('deprovisioned');
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
      expect(left.scheduled.map((s) => s.step.key)).toEqual(['deleteAccount/chat']);

      await run.env.sleep(DELAY - DAY);
      expect(stubs.held('chat', p.employeeId)).toBeDefined();
      expect(stubs.connectorCalls().filter((c) => c.action === 'deleteAccount')).toEqual([]);

      await run.env.sleep(2 * DAY);
      await p.until('the deletion delay to end', (s) => s.scheduled.length === 0);
      const deletes = stubs.connectorCalls().filter((c) => c.action === 'deleteAccount');
      expect(deletes).toHaveLength(1);
      expect(deletes[0]!.at).toBeGreaterThanOrEqual(notBefore);
      expect(stubs.held('chat', p.employeeId)).toBeUndefined();
      expect((await p.state()).status).toBe('deprovisioned');
    });
  });
});
