// planFor: the one planning function of the planChange activity and the CLI's dry run.
import { describe, expect, it } from 'vitest';
import { planFor } from '../../../activities/plan.js';
import { compiled, NOW, person } from './fixtures.js';

const policy = compiled();
const everyApp = () => true;

describe('planFor', () => {
  it('drops the steps of applications no connector serves', () => {
    const plan = planFor(policy, { identity: person({ department: 'eng' }), actual: [], now: NOW, served: (app) => app !== 'directory' });
    expect(plan.steps.length).toBeGreaterThan(0);
    expect(plan.steps.map((s) => s.app)).not.toContain('directory');
    expect(plan.steps.map((s) => s.app)).toContain('chat');
  });

  it('asks no approval again for an entitlement an approved request brings', () => {
    const identity = person({ department: 'sales', title: 'Lead' });
    const gated = planFor(policy, { identity, actual: [], now: NOW, served: everyApp });
    expect(gated.steps.find((s) => s.key === 'grant/code/release-approver')!.approvals).toEqual(['mgr']);
    const grants = [{ id: 'g-1', entitlement: 'code:release-approver', grantedAt: NOW }];
    const requested = planFor(policy, { identity, actual: [], grants, now: NOW, served: everyApp });
    const step = requested.steps.find((s) => s.key === 'grant/code/release-approver')!;
    expect(step).toBeDefined();
    expect(step.approvals).toBeUndefined();
  });
});
