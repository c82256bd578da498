// Builders for HR CloudEvents in tests.
import type { HrEventType } from '../../schemas/events.js';

export function hrEvent(
  employeeId: string,
  options: { type?: HrEventType; id?: string; sequence?: number; data?: Record<string, unknown> } = {},
) {
  const sequence = options.sequence ?? 1;
  // Effective now: scheduled steps (grace periods, deletion delays) count from effectiveAt.
  const now = new Date().toISOString();
  return {
    specversion: '1.0',
    id: options.id ?? `${employeeId}-${sequence}`,
    source: 'urn:hris:test',
    type: options.type ?? 'hr.worker.hired',
    time: now,
    subject: employeeId,
    datacontenttype: 'application/json',
    data: {
      employeeId,
      sequence,
      effectiveAt: now,
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
