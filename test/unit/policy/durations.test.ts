import { describe, expect, it } from 'vitest';
import { addDuration, durationMs, isDuration, isWithinMaxDuration, parseDuration } from '../../../schemas/durations.js';
import { durationSchema } from '../../../schemas/policy.js';

describe('ISO 8601 durations', () => {
  it.each(['P7D', 'PT15M', 'P1Y6M', 'P2W', 'PT8H', 'P1DT12H', 'PT0.5S', 'P30D'])('%s parses', (d) => {
    expect(isDuration(d)).toBe(true);
    expect(durationSchema.safeParse(d).success).toBe(true);
  });

  it.each(['7 days', 'P', 'PT', 'P1DT', '7D', 'p7d', 'P1.5D', 'P-1D', ''])('%j does not', (d) => {
    expect(isDuration(d)).toBe(false);
    expect(durationSchema.safeParse(d).success).toBe(false);
  });

  it.each(['P9999999Y', 'P101Y', 'P1300M', 'P5215W', 'P36501D', 'PT876001H'])('%s is longer than P100Y and refused', (d) => {
    expect(isWithinMaxDuration(d)).toBe(false);
    expect(durationSchema.safeParse(d).error?.issues[0]?.message).toMatch(/at most P100Y/);
  });

  it('accepts P100Y itself', () => {
    expect(durationSchema.safeParse('P100Y').success).toBe(true);
  });

  it('parses into parts, and measures fixed units', () => {
    expect(parseDuration('P1Y2M3W4DT5H6M7.5S')).toEqual({ years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7.5 });
    expect(durationMs('PT15M')).toBe(900_000);
    expect(durationMs('P2D') > durationMs('PT47H')).toBe(true);
  });

  it('adds to timestamps: days as 24 UTC hours, months and years by the calendar', () => {
    expect(addDuration('2026-01-05T09:00:00Z', 'P7D')).toBe('2026-01-12T09:00:00.000Z');
    expect(addDuration('2026-01-31T00:00:00Z', 'P1M')).toBe('2026-02-28T00:00:00.000Z');
    expect(addDuration('2024-02-29T00:00:00Z', 'P1Y')).toBe('2025-02-28T00:00:00.000Z');
    expect(addDuration('2026-01-05T09:00:00Z', 'PT8H')).toBe('2026-01-05T17:00:00.000Z');
    expect(() => addDuration('2026-01-05T09:00:00Z', 'soon')).toThrow(RangeError);
  });
});
