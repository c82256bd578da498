// Builders for HR CloudEvents in tests.
import type { HrEventType } from '../../schemas/events.js';

export function hrEvent(
  employeeId: string,
  options: { type?: HrEventType; id?: string; sequence?: number; data?: Record<string, unknown> } = {},
) {
  const sequence = options.sequence ?? 1;
  return {
    specversion: '1.0',
    id: options.id ?? `${employeeId}-${sequence}`,
    source: 'urn:hris:test',
    type: options.type ?? 'hr.worker.hired',
    time: '2026-11-22T08:00:00Z',
    subject: employeeId,
    datacontenttype: 'application/json',
    data: {
      employeeId,
      sequence,
      effectiveAt: '2026-11-22T08:00:00Z',
      status: 'active',
      givenName: 'Ada',
      familyName: 'Lovelace',
      email: `${employeeId.toLowerCase()}@example.com`,
      department: 'Engineering',
      title: 'Engineer',
      region: 'eu',
      employmentType: 'employee',
      ...options.data,
    },
  };
}
