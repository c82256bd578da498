// `provisioner plan` shows a dated plan as it is: accounts made disabled, the enable at the start,
// an account made with the first approved grant, and when the person is looked at again.
import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../cli/commands/plan.js';
import { planIdentity } from '../../policy/planner.js';
import type { HrEvent } from '../../schemas/events.js';
import { compiled, NOW, person } from './policy/fixtures.js';

const eventOf = (data: object) => ({ type: 'hr.worker.hired', data: { sequence: 1, ...data } }) as unknown as HrEvent;

describe('provisioner plan on dated changes', () => {
  it('marks the disabled account, the enable at the start and the held account', () => {
    const identity = person({ startDate: '2026-01-10', title: 'Maker' });
    const { plan } = planIdentity(compiled({ 'lifecycle.yaml': 'lifecycle:\n  prehireDays: 14\n' }), { identity, actual: [], now: NOW });
    const text = formatPlan(eventOf(identity), plan);
    expect(text).toMatch(/ensureAccount chat: .*\[made disabled\]/);
    expect(text).toMatch(/enableAccount chat: prehire: enabled at the start 2026-01-10T00:00:00.000Z \[not before 2026-01-10T00:00:00.000Z\]/);
    expect(text).toMatch(/ensureAccount crm: .*made with the first approved grant/);
  });

  it('says when the person is looked at again before any window opens', () => {
    const identity = person({ startDate: '2026-01-20' });
    const { plan } = planIdentity(compiled(), { identity, actual: [], now: NOW });
    expect(formatPlan(eventOf(identity), plan)).toContain('  wake 2026-01-20T00:00:00.000Z: prehire: chat, directory open for the start 2026-01-20T00:00:00.000Z');
  });
});
