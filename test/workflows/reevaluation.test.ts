// A reconciliation's `fix` and a policy rollout ask a person's workflow to plan them again: the
// change is planned on the newest snapshot and applied like an HR event's, once per request id.
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { reevaluationRequested } from '../../workflows/messages.js';
import { outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';

const account: PlanStep = { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' };
const newGroup: PlanStep = { key: 'grant/chat/eng-all', action: 'grant', app: 'chat', entitlementId: 'eng-all', reason: 'birthright rule added in policy v2' };

describe('a re-evaluation of a person', () => {
  it('plans the person again on the stored snapshot, applies the difference once, and keeps the sequence', async () => {
    // Policy v2 grants a new group: every plan after the hire carries it.
    const stubs = createStubActivities({ apps: ['chat'], plan: (input) => (input.eventType === 'hr.worker.hired' ? [account] : [account, newGroup]) });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('RE'));
      await p.hr('hr.worker.hired', 4);
      const ask = { requestId: 'policy/v2', source: 'policy/v2', reason: 'policy v2 applied' };
      await p.handle.signal(reevaluationRequested, ask);
      await p.handle.signal(reevaluationRequested, ask);
      const done = await outcome(stubs, 'the re-evaluation', (o) => o.changeId === `${p.handle.workflowId}/reevaluate/policy/v2`);
      expect(done).toMatchObject({ status: 'succeeded', eventType: 'provisioner.reevaluation.requested', sequence: 4 });
      expect(done.steps.map((s) => `${s.action}/${s.entitlementId ?? ''}/${s.outcome}`)).toContain('grant/eng-all/applied');

      // The same request again is harmless, even once the first is done.
      await p.handle.signal(reevaluationRequested, ask);
      const settled = await p.until('the person to settle', (s) => s.pendingEvents === 0 && s.status === 'provisioned');
      expect(settled.lastAppliedSequence).toBe(4);
      expect(stubs.outcomes.filter((o) => o.changeId === `${p.handle.workflowId}/reevaluate/policy/v2`)).toHaveLength(1);
      expect(stubs.calls.filter((c) => c.kind === 'step' && c.action === 'grant' && c.entitlementId === 'eng-all')).toHaveLength(1);
    });
  });
});
