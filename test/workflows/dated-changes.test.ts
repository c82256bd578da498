// Dated changes in a person's workflow, on the time-skipping test server: a prehire window's wake
// time, an account made disabled and enabled at the start, a termination dated ahead that disables
// at its time or is rescinded before it, and least privilege on hire (an account made only with
// the first approved grant of its application).
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { approve, reject } from '../../workflows/approval-messages.js';
import { DAY, HOUR, iso, outcome, scenario, unique, until } from './harness.js';
import { person } from './people.js';
import { fenceWorkflowId, getFenceState, scopeKey } from '../../workflows/fence-messages.js';
import { createStubActivities, type ChainSpec, type StubScript } from './stub-activities.js';

const ensure = (extra: Partial<PlanStep> = {}): PlanStep => ({ key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright', ...extra });
const grant = (entitlementId: string, extra: Partial<PlanStep> = {}): PlanStep => ({ key: `grant/chat/${entitlementId}`, action: 'grant', app: 'chat', entitlementId, reason: 'birthright', ...extra });

describe('a hire dated ahead', () => {
  it('waits for its prehire window, is made disabled when it opens, and is enabled at the start', async () => {
    let start = 0;
    let opens = 0;
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => {
        if (input.eventType === 'hr.worker.hired') {
          start = now + 14 * DAY;
          opens = start - 3 * DAY;
          return { steps: [], wakeAt: iso(opens), wakeReason: 'prehire: chat opens for the start' };
        }
        if (now < opens) return { steps: [], wakeAt: iso(opens), wakeReason: 'too early' };
        return [ensure({ active: false }), grant('staff'), { key: 'enableAccount/chat', action: 'enableAccount', app: 'chat', reason: 'prehire: enabled at the start', notBefore: iso(start) }];
      },
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('P'));
      const hired = await p.hr('hr.worker.hired', 1);
      expect(hired.wake).toMatchObject({ at: iso(opens), reason: 'prehire: chat opens for the start' });
      expect(stubs.connectorCalls()).toEqual([]);

      // The window opens: the account exists, disabled, with its access; the enable waits for the start.
      await run.env.sleep(11 * DAY + HOUR);
      const made = await p.until('the window to open', (s) => s.wake === undefined && s.scheduled.length === 1);
      expect(stubs.held('chat', p.employeeId)).toMatchObject({ active: false, entitlements: ['staff'] });
      expect(made.scheduled.map((s) => ({ action: s.step.action, notBefore: s.notBefore, reason: s.step.reason }))).toEqual([{ action: 'enableAccount', notBefore: iso(start), reason: 'prehire: enabled at the start' }]);
      expect((await outcome(stubs, 'the wake', (o) => o.eventType === 'provisioner.wake.due')).status).toBe('succeeded');

      // The start: enabled, not before.
      await run.env.sleep(3 * DAY);
      await p.until('the start', (s) => s.scheduled.length === 0);
      const enables = stubs.connectorCalls().filter((c) => c.action === 'enableAccount');
      expect(enables).toHaveLength(1);
      expect(enables[0]!.at).toBeGreaterThanOrEqual(start);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
    });
  });

  it('a newer snapshot replaces the wake time (a start moved later)', async () => {
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => ({ steps: [], wakeAt: iso(now + (input.eventType === 'hr.worker.hired' ? 5 : 20) * DAY), wakeReason: `prehire (${input.eventType})` }),
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('P'));
      await p.hr('hr.worker.hired', 1);
      const moved = await p.hr('hr.worker.updated', 2, { startDate: '2099-01-01' });
      expect(moved.wake?.reason).toBe('prehire (hr.worker.updated)');
      await run.env.sleep(6 * DAY);
      expect(stubs.outcomes.filter((o) => o.eventType === 'provisioner.wake.due')).toEqual([]);
    });
  });
});

/** A hire makes an account; a termination disables it five days on (its effectiveAt) and deletes it 30 days after. */
const terminationStubs = (effective: { at: number }, fence?: StubScript['fence']) =>
  createStubActivities({
    apps: ['chat'],
    ...(fence ? { fence } : {}),
    plan: (input, now) => {
      if (input.eventType === 'hr.worker.hired') return [ensure()];
      if (input.snapshot?.status !== 'terminated') return [];
      effective.at = now + 5 * DAY;
      return [
        { key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: `leaver: access ends at ${iso(effective.at)}`, notBefore: iso(effective.at), fenced: 'disableAccount' },
        { key: 'deleteAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'leaver: deleted after the deletion delay', notBefore: iso(effective.at + 30 * DAY), fenced: 'deleteAccount' },
      ];
    },
  });

describe('a termination dated ahead', () => {
  it('changes nothing until its effectiveAt, then disables', async () => {
    const effective = { at: 0 };
    const stubs = terminationStubs(effective);
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('T'));
      await p.hr('hr.worker.hired', 1);
      const noticed = await p.hr('hr.worker.terminated', 2, { status: 'terminated' });
      expect(noticed.status).toBe('provisioned');
      expect(noticed.scheduled.map((s) => s.step.action)).toEqual(['disableAccount', 'deleteAccount']);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);

      await run.env.sleep(5 * DAY + HOUR);
      const left = await p.until('the last day', (s) => s.scheduled.length === 1);
      expect(left.status).toBe('deprovisioned');
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
      expect(stubs.connectorCalls().find((c) => c.action === 'disableAccount')!.at).toBeGreaterThanOrEqual(effective.at);
    });
  });

  it('rescinded before its time (active again), it never disables', async () => {
    const stubs = terminationStubs({ at: 0 });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('T'));
      await p.hr('hr.worker.hired', 1);
      await p.hr('hr.worker.terminated', 2, { status: 'terminated' });
      const rescinded = await p.hr('hr.worker.updated', 3, { status: 'active' });
      expect(rescinded.scheduled).toEqual([]);
      await run.env.sleep(40 * DAY);
      expect(stubs.connectorCalls().filter((c) => c.action === 'disableAccount' || c.action === 'deleteAccount')).toEqual([]);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
    });
  });
});

describe('a termination dated ahead whose disable the fence holds', () => {
  it('rescinded while held, the held disable is withdrawn and never runs', async () => {
    const effective = { at: 0 };
    const stubs = terminationStubs(effective, { limits: { [scopeKey('app', 'chat', 'disableAccount')]: 0 } });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('T'));
      await p.hr('hr.worker.hired', 1);
      await p.hr('hr.worker.terminated', 2, { status: 'terminated' });
      await run.env.sleep(5 * DAY + HOUR);
      await p.until('the disable to be held by the fence', (s) => s.fenceHold !== undefined);

      const rescinded = await p.hr('hr.worker.updated', 3, { status: 'active' });
      expect(rescinded.fenceHold).toBeUndefined();
      expect(rescinded.scheduled).toEqual([]);
      const superseded = await outcome(stubs, 'the held scheduled steps', (o) => o.status === 'superseded');
      expect(superseded.reason).toContain('superseded by a newer HR event');
      const fence = run.env.client.workflow.getHandle(fenceWorkflowId(run.taskQueue));
      await until('the fence to list nothing held', async () => ((await fence.query(getFenceState)).held.length === 0 ? true : undefined));
      await run.env.sleep(40 * DAY);
      expect(stubs.connectorCalls().filter((c) => c.action === 'disableAccount' || c.action === 'deleteAccount')).toEqual([]);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
    });
  });
});

describe('least privilege on hire', () => {
  const APPROVER = 'MGR-1';
  const managerChains = (s: { entitlement: string; rules: string[] }): ChainSpec[] =>
    s.rules.map((rule) => ({ entitlement: s.entitlement, rule, reason: 'entitlement', mode: 'any-of', required: 1, slots: [{ label: 'manager', eligible: [APPROVER] }], reminderMs: 12 * HOUR, timeoutMs: 20 * DAY, onTimeout: 'reject' }));
  const stubsFor = () =>
    createStubActivities({
      apps: ['chat'],
      plan: (input) => (input.eventType === 'hr.worker.hired' ? [ensure({ untilApproved: true }), grant('admins', { approvals: ['mgr'] }), grant('auditors', { approvals: ['mgr'] })] : []),
      chains: managerChains,
    });

  it('an account every grant of which waits for approval is made with the first approved grant', async () => {
    const stubs = stubsFor();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('LP'));
      const hired = await p.hr('hr.worker.hired', 1);
      expect(stubs.connectorCalls()).toEqual([]);
      expect(hired.accountsAwaitingApproval).toEqual([{ app: 'chat', reason: expect.stringContaining('first approved grant') }]);
      const gate = hired.awaitingApproval.find((a) => a.step.key === 'grant/chat/auditors')!;
      await p.handle.executeUpdate(approve, { args: [{ approvalId: gate.approvalIds![0]!, approverId: APPROVER, channel: 'api' }] });
      await p.until('the approved grant', (s) => s.awaitingApproval.length === 1 && s.accounts.chat !== undefined);
      expect(stubs.connectorCalls().map((c) => c.key)).toEqual(['ensureAccount/chat', 'grant/chat/auditors']);
      expect(stubs.held('chat', p.employeeId)).toMatchObject({ active: true, entitlements: ['auditors'] });
      expect((await p.state()).accountsAwaitingApproval).toBeUndefined();
    });
  });

  it('an account held for approval before a future start is made disabled when approved, and enabled at the start', async () => {
    let start = 0;
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => {
        if (input.eventType !== 'hr.worker.hired') return [];
        start = now + 10 * DAY;
        return [ensure({ untilApproved: true, active: false }), grant('admins', { approvals: ['mgr'] }), { key: 'enableAccount/chat', action: 'enableAccount', app: 'chat', reason: 'prehire: enabled at the start', notBefore: iso(start) }];
      },
      chains: managerChains,
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('LP'));
      const hired = await p.hr('hr.worker.hired', 1);
      expect(hired.scheduled).toEqual([]);
      await p.handle.executeUpdate(approve, { args: [{ approvalId: hired.awaitingApproval[0]!.approvalIds![0]!, approverId: APPROVER, channel: 'api' }] });
      const made = await p.until('the approved grant', (s) => s.accounts.chat !== undefined && s.scheduled.length === 1);
      expect(made.scheduled[0]).toMatchObject({ notBefore: iso(start), step: { action: 'enableAccount' } });
      expect(stubs.held('chat', p.employeeId)).toMatchObject({ active: false, entitlements: ['admins'] });
      await run.env.sleep(11 * DAY);
      await p.until('the start', (s) => s.scheduled.length === 0);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(true);
    });
  });

  it('when every gate is rejected, no account is ever made', async () => {
    const stubs = stubsFor();
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('LP'));
      const hired = await p.hr('hr.worker.hired', 1);
      for (const gate of hired.awaitingApproval) await p.handle.executeUpdate(reject, { args: [{ approvalId: gate.approvalIds![0]!, approverId: APPROVER, channel: 'api', comment: 'not needed' }] });
      await p.until('the gates to close', (s) => s.awaitingApproval.length === 0);
      expect(stubs.connectorCalls()).toEqual([]);
      expect(stubs.held('chat', p.employeeId)).toBeUndefined();
    });
  });
});
