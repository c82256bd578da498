// The saga of one change: when its third step fails for good, what the change did is undone in
// reverse, and the outcome records each undo. Each undo is registered before its step, so the
// failed step is undone first (it may have taken effect before it failed; every undo is idempotent).
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';

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
});
