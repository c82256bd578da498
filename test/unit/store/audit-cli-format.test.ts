import { describe, expect, it } from 'vitest';
import { formatAuditTable, parseTime } from '../../../cli/commands/audit.js';
import type { AuditRow } from '../../../store/audit-query.js';

describe('audit query presentation', () => {
  it('reads times as ISO or as a duration ago', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    expect(parseTime('90m', now).toISOString()).toBe('2026-03-10T10:30:00.000Z');
    expect(parseTime('7d', now).toISOString()).toBe('2026-03-03T12:00:00.000Z');
    expect(parseTime('2026-01-31', now).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(() => parseTime('yesterday', now)).toThrow(/ISO time/);
  });

  it('shows employee ids where they can be read, pseudonyms where not', () => {
    const base: AuditRow = {
      seq: 1, recordId: 'r', at: '2026-03-10T12:00:00.123456Z', actor: 'system:identity-workflow', action: 'grant.added', reason: 'birthright',
      policyVersion: null, subject: '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', subjectEmployeeId: 'E1', sealedUnreadable: false, eventId: null, workflowId: null,
      changes: [{ op: 'grant', app: 'crm' }], hash: 'h',
    };
    const { subjectEmployeeId: _gone, ...purged } = { ...base, seq: 2, actor: 'person:0a1b2c3d-0000-4000-8000-000000000000', sealedUnreadable: true };
    const lines = formatAuditTable([base, purged]).split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+SUBJECT\s+APPS\s+REASON$/);
    expect(lines[1]).toMatch(/^1\s+2026-03-10T12:00:00Z\s+system:identity-workflow\s+grant\.added\s+E1\s+crm\s+birthright$/);
    expect(lines[2]).toMatch(/~0a1b2c3d\s+grant\.added\s+~6f1d2a3b \(sealed\)/);
  });
});
