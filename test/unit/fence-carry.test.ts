// What a person's workflow carries across continue-as-new includes the change the fence rejected:
// an operator's retry in the next run asks the fence again from the source that brought it (not
// the shared `operator-retry` source), as it would have in the run that was rejected.
import { describe, expect, it } from 'vitest';
import { afterFenceRejection, carry, restore } from '../../workflows/identity/state.js';
import type { WorkerSnapshot } from '../../schemas/events.js';

const snapshot = { employeeId: 'E1', sequence: 2, status: 'terminated' } as unknown as WorkerSnapshot;

describe('a fence rejection across continue-as-new', () => {
  it('is carried to the next run: its retry asks from the rejected change’s source', () => {
    const first = restore({ employeeId: 'E1' }, 'identity/E1');
    first.state.status = 'fence-rejected';
    first.fenceRejected = { eventId: 'ev-2', source: 'urn:hris:workday' };
    const carried = carry(first);
    expect(carried.fenceRejected).toEqual({ eventId: 'ev-2', source: 'urn:hris:workday' });
    const next = restore({ employeeId: 'E1', carried }, 'identity/E1');
    expect(next.state.status).toBe('fence-rejected');
    expect(next.fenceRejected).toEqual({ eventId: 'ev-2', source: 'urn:hris:workday' });
    const retry = afterFenceRejection(next, snapshot);
    expect(retry).toMatchObject({ eventId: 'ev-2', source: 'urn:hris:workday', sequence: 2 });
    expect(retry.changeId).toMatch(/^ev-2\/after-fence-rejection-\d+$/);
  });

  it('a person no longer fence-rejected (a newer snapshot was applied) carries none', () => {
    const first = restore({ employeeId: 'E1' }, 'identity/E1');
    first.fenceRejected = { eventId: 'ev-2', source: 'urn:hris:workday' };
    first.state.status = 'deprovisioned';
    expect(carry(first)).not.toHaveProperty('fenceRejected');
    expect(restore({ employeeId: 'E1', carried: carry(first) }, 'identity/E1')).not.toHaveProperty('fenceRejected');
  });
});
