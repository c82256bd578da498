// How many people the mass-termination drill terminates: its share, and always more than the
// example policy's fence lets through, or the fence rightly never trips (40 joiners at 60 % was 24,
// within the fence's 25, and the drill failed "the fence held" for it). Too few joiners are refused
// before the drill starts anything.
import { describe, expect, it } from 'vitest';
import { examplePeopleThreshold, leaversToTerminate, massTerminationOf } from '../../drills/scenarios/mass-termination.js';

describe('the mass termination burst', () => {
  it('is the share when that is beyond the fence', () => {
    const threshold = examplePeopleThreshold(1000);
    expect(Math.ceil(1000 * 0.6)).toBeGreaterThan(threshold + 5);
    expect(leaversToTerminate(1000, 0.6, threshold)).toBe(600);
  });

  it('is the threshold and a margin when the share is within the fence', () => {
    const threshold = examplePeopleThreshold(40);
    expect(Math.ceil(40 * 0.6)).toBeLessThanOrEqual(threshold);
    const count = leaversToTerminate(40, 0.6, threshold);
    expect(count).toBeGreaterThan(threshold);
    expect(count).toBeLessThanOrEqual(40);
  });

  it('refuses a population the burst cannot exceed the fence in, saying how many joiners it needs', () => {
    const threshold = examplePeopleThreshold(20);
    expect(() => leaversToTerminate(20, 0.6, threshold)).toThrow(/mass-termination needs at least \d+ joiners.*--joiners \d+/);
  });

  it('refuses too few joiners before the drill starts anything', () => {
    const scenario = massTerminationOf(0.6);
    expect(() => scenario.checkParameters?.({ joiners: 20, rate: 10 })).toThrow(/mass-termination needs at least \d+ joiners/);
    expect(() => scenario.checkParameters?.({ joiners: scenario.defaults.joiners, rate: 10 })).not.toThrow();
  });
});
