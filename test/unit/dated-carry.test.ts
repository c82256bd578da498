// What a person's workflow carries across continue-as-new includes the wake time a plan asked for
// (a prehire window), so a run that continues as new still wakes the person then.
import { describe, expect, it } from 'vitest';
import { carry, restore } from '../../workflows/identity/state.js';

describe('the wake time across continue-as-new', () => {
  it('is carried to the next run and restored in its state', () => {
    const wake = { at: '2026-01-20T00:00:00.000Z', reason: 'prehire: chat opens for the start 2026-01-27T00:00:00.000Z', changeId: 'ev-1' };
    const first = restore({ employeeId: 'E1' }, 'identity/E1');
    first.state.wake = wake;
    const carried = carry(first);
    expect(carried.wake).toEqual(wake);
    expect(restore({ employeeId: 'E1', carried }, 'identity/E1').state.wake).toEqual(wake);
  });

  it('a run without a wake time carries none', () => {
    expect(carry(restore({ employeeId: 'E1' }, 'identity/E1'))).not.toHaveProperty('wake');
  });
});
