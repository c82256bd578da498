// The saga of one change: when its third step fails for good, what the change did is undone in
// reverse, and the outcome records each undo. Each undo is registered before its step, so the
// failed step is undone first (it may have taken effect before it failed; every undo is idempotent).
// A step whose first attempt took effect but whose answer was lost answers `unchanged` /
// `already-in-state` on its retry: its undo is kept (the plan read the change not made). An adopted
// account (or one found unchanged where the app may adopt), and a grant on an account whose
// memberships were unread, may have been the person's before: not undone.
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities, type StubScript } from './stub-activities.js';

const joiner: PlanStep[] = [
  { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
  { key: 'grant/chat/all-staff', action: 'grant', app: 'chat', entitlementId: 'all-staff', reason: 'birthright' },
  { key: 'grant/chat/engineering', action: 'grant', app: 'chat', entitlementId: 'engineering', reason: 'birthright' },
];

describe('the saga of a change', () => {
  it('when the third step fails, the steps are undone in reverse and the outcome records every undo', async () => {
    const stubs = createStubActivities({ apps: ['chat'], plan: () => joiner, fails: (s) => s.key === 'grant/chat/engineering' });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('S'));
      const state = await p.hr('hr.worker.hired', 1);
      expect(state.status).toBe('failed');
      // The account the saga deleted is not listed as the person's.
      expect(state.accounts).toEqual({});

      const calls = stubs.connectorCalls().map((c) => `${c.kind} ${c.key}`);
      expect(calls).toEqual([
        'step ensureAccount/chat',
        'step grant/chat/all-staff',
        'step grant/chat/engineering',
        'undo grant/chat/engineering',
        'undo grant/chat/all-staff',
        'undo ensureAccount/chat',
      ]);
      // The undos did what undoes the steps: the entitlements revoked, then the account deleted.
      expect(stubs.connectorCalls().filter((c) => c.kind === 'undo').map((c) => c.action)).toEqual(['revoke', 'revoke', 'deleteAccount']);
      expect(stubs.held('chat', p.employeeId)).toBeUndefined();

      const hired = await outcome(stubs, 'the hire', (o) => o.sequence === 1);
      expect(hired.status).toBe('failed');
      expect(hired.reason).toBe('chat grant engineering: InvalidRequestError: grant/chat/engineering fails (scripted); what the change did was undone');
      expect(hired.steps.map((s) => `${s.action} ${s.entitlementId ?? ''} ${s.outcome}`.replace('  ', ' '))).toEqual([
        'ensureAccount created',
        'grant all-staff applied',
        'grant engineering failed',
      ]);
      expect(hired.compensations).toEqual([
        { label: 'undo grant/chat/engineering', ok: true },
        { label: 'undo grant/chat/all-staff', ok: true },
        { label: 'undo ensureAccount/chat', ok: true },
      ]);
    });
  });

  /** A hire whose last grant fails for good, with what else the script says: its outcome, undo verbs and what the person still holds. */
  async function failedHire(script: Omit<StubScript, 'apps' | 'plan' | 'fails'>, steps = joiner) {
    const stubs = createStubActivities({ apps: ['chat'], plan: () => steps, fails: (s) => s.key === 'grant/chat/engineering', ...script });
    return scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('S'));
      expect((await p.hr('hr.worker.hired', 1)).status).toBe('failed');
      const hired = await outcome(stubs, 'the hire', (o) => o.sequence === 1);
      const undone = stubs.connectorCalls().filter((c) => c.kind === 'undo').map((c) => c.action);
      return { hired, undone, held: stubs.held('chat', p.employeeId) };
    });
  }

  it('an account whose create answer was lost (the retry answers unchanged) is deleted by the rollback', async () => {
    const { hired, undone, held } = await failedHire({ losesAnswer: (s) => s.action === 'ensureAccount' });
    expect(hired.steps[0]).toMatchObject({ action: 'ensureAccount', outcome: 'unchanged' });
    expect(undone).toEqual(['revoke', 'revoke', 'deleteAccount']);
    expect(held).toBeUndefined();
  });

  it('a grant whose answer was lost (the retry answers already-in-state) is revoked by the rollback', async () => {
    const { hired, held } = await failedHire({ losesAnswer: (s) => s.key === 'grant/chat/all-staff' });
    expect(hired.steps[1]).toMatchObject({ action: 'grant', entitlementId: 'all-staff', outcome: 'already-in-state' });
    expect(hired.compensations?.map((c) => c.label)).toEqual(['undo grant/chat/engineering', 'undo grant/chat/all-staff', 'undo ensureAccount/chat']);
    expect(held).toBeUndefined();
  });

  it('an adopted account (updated, adopted) is left by the rollback: it was there before', async () => {
    const { hired, undone, held } = await failedHire({ adopts: (s) => s.action === 'ensureAccount' });
    expect(hired.compensations?.map((c) => c.label)).toEqual(['undo grant/chat/engineering', 'undo grant/chat/all-staff']);
    expect(undone).toEqual(['revoke', 'revoke']);
    expect(held).toMatchObject({ entitlements: [] });
  });

  it('an account found unchanged where the correlation rule may adopt is left: the lost answer may have been an adoption', async () => {
    const adopting = joiner.map((s) => (s.action === 'ensureAccount' ? { ...s, correlation: { matchBy: 'email' as const, adopt: 'automatic' as const } } : s));
    const { hired, undone, held } = await failedHire({ losesAnswer: (s) => s.action === 'ensureAccount' }, adopting);
    expect(hired.steps[0]).toMatchObject({ action: 'ensureAccount', outcome: 'unchanged' });
    expect(undone).toEqual(['revoke', 'revoke']);
    expect(held).toMatchObject({ entitlements: [] });
  });

  it('a grant on an account whose memberships were unread (mayBeHeld) that answers already-in-state is not revoked', async () => {
    const mover = (employeeId: string): PlanStep[] => {
      const account = { app: 'chat', id: `chat-${employeeId}`, externalId: employeeId };
      return [
        { key: 'grant/chat/all-staff', action: 'grant', app: 'chat', account, entitlementId: 'all-staff', reason: 'birthright', mayBeHeld: true },
        { key: 'grant/chat/research', action: 'grant', app: 'chat', account, entitlementId: 'research', reason: 'birthright' },
      ];
    };
    const stubs = createStubActivities({ apps: ['chat'], plan: (input) => (input.eventType === 'hr.worker.hired' ? joiner.slice(0, 2) : mover(input.employeeId)), fails: (s) => s.key === 'grant/chat/research' });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('S'));
      await p.hr('hr.worker.hired', 1);
      expect((await p.hr('hr.worker.updated', 2, { department: 'Research' })).status).toBe('failed');
      const moved = await outcome(stubs, 'the move', (o) => o.sequence === 2);
      expect(moved.compensations?.map((c) => c.label)).toEqual(['undo grant/chat/research']);
      expect(stubs.held('chat', p.employeeId)).toMatchObject({ entitlements: ['all-staff'] });
    });
  });
});
