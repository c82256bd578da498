// poison-storm's sequence faults: with as few as two people settled, both faults are sent.
import { describe, expect, it } from 'vitest';
import { sequenceFaultPeople } from '../../drills/scenarios/poison-storm.js';
import type { LedgerEntry } from '../../drills/workload.js';

const person = (employeeId: string, status: LedgerEntry['status']): LedgerEntry => ({ employeeId, lastSequence: status === 'active' ? 1 : 2, status, eventIds: [] });
const ids = (entries: LedgerEntry[]) => entries.map((e) => e.employeeId);

describe('sequenceFaultPeople', () => {
  it('gives each fault one of two stayers when no leaver settled (the drill once sent no jump)', () => {
    const { replayed, stayers } = sequenceFaultPeople([person('A', 'active'), person('B', 'active')]);
    expect(ids(replayed)).toEqual(['A']);
    expect(ids(stayers)).toEqual(['B']);
  });

  it('replays leavers first, and lets the jumps take two stayers', () => {
    const { replayed, stayers } = sequenceFaultPeople([person('A', 'active'), person('L', 'terminated'), person('B', 'active'), person('C', 'active')]);
    expect(ids(stayers)).toEqual(['B', 'C']);
    expect(ids(replayed)).toEqual(['L', 'A']);
  });

  it('replays at most three and never the same person twice', () => {
    const settled = ['A', 'B', 'C', 'D', 'E', 'F'].map((id) => person(id, 'active'));
    const { replayed, stayers } = sequenceFaultPeople(settled);
    expect(ids(stayers)).toEqual(['E', 'F']);
    expect(ids(replayed)).toEqual(['A', 'B', 'C']);
  });

  it('sends no jump for a lone stayer: it is replayed', () => {
    expect(sequenceFaultPeople([person('A', 'active')])).toEqual({ replayed: [person('A', 'active')], stayers: [] });
  });

  it('sends no jump when only leavers settled: the jumps are terminations of stayers', () => {
    const { replayed, stayers } = sequenceFaultPeople([person('L1', 'terminated'), person('L2', 'terminated')]);
    expect(ids(replayed)).toEqual(['L1', 'L2']);
    expect(stayers).toEqual([]);
  });
});
