import { describe, expect, it } from 'vitest';
import { parseHrEvent } from '../../schemas/events.js';
import { judge } from '../../ingress/hr-consumer.js';
import { hrEvent } from '../helpers/hr-events.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const message = (value: Buffer | null, key?: string) => ({ key: key === undefined ? null : Buffer.from(key), value, offset: '0', timestamp: '0', attributes: 0, headers: {} });

describe('HR lifecycle events', () => {
  it('accepts a well-formed hired CloudEvent', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001')));
    expect(parsed.ok && parsed.value.data.employeeId).toBe('E1001');
  });

  it('never takes roles, groups, entitlements or active from HR data', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { data: { roles: ['admin'], groups: ['root'], entitlements: ['x'], active: false } })));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) for (const key of ['roles', 'groups', 'entitlements', 'active']) expect(parsed.value.data).not.toHaveProperty(key);
  });

  it('keeps extension attributes under extensions', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { data: { extensions: { badge: 'B-7', floor: 3 } } })));
    expect(parsed.ok && parsed.value.data.extensions).toEqual({ badge: 'B-7', floor: 3 });
  });

  it('rejects a hire without an e-mail, naming the field', () => {
    const event = hrEvent('E1001');
    delete (event.data as Record<string, unknown>).email;
    const parsed = parseHrEvent(bytes(event));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/data\.email/);
  });

  it('accepts an update without names (a snapshot of what changed is still a full snapshot of status)', () => {
    const event = hrEvent('E1001', { type: 'hr.worker.updated', sequence: 2 });
    delete (event.data as Record<string, unknown>).email;
    expect(parseHrEvent(bytes(event)).ok).toBe(true);
  });

  it('rejects a subject that is not the employee id', () => {
    const parsed = parseHrEvent(bytes({ ...hrEvent('E1001'), subject: 'E2002' }));
    expect(!parsed.ok && parsed.reason).toMatch(/subject must equal data.employeeId/);
  });

  it('rejects an unknown event type, a bad sequence and an unsafe employee id', () => {
    expect(parseHrEvent(bytes({ ...hrEvent('E1001'), type: 'hr.worker.promoted' })).ok).toBe(false);
    expect(parseHrEvent(bytes(hrEvent('E1001', { data: { sequence: -1 } }))).ok).toBe(false);
    expect(parseHrEvent(bytes(hrEvent('E1001") or (x', {}))).ok).toBe(false);
  });

  it('explains bytes that are not JSON, and an empty message', () => {
    expect(parseHrEvent(Buffer.from('{not json'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(parseHrEvent(null)).toEqual({ ok: false, reason: 'empty message' });
  });
});

describe('the ingress verdict on a Kafka message', () => {
  it('dead-letters an event whose key is not its subject (it would break per-person ordering)', () => {
    expect(judge(message(bytes(hrEvent('E1001')), 'E9999'))).toMatchObject({ ok: false, code: 'key-mismatch' });
  });

  it('classifies the reason for a dead letter', () => {
    expect(judge(message(Buffer.from('nope'), 'E1'))).toMatchObject({ ok: false, code: 'invalid-json' });
    expect(judge(message(null, 'E1'))).toMatchObject({ ok: false, code: 'empty' });
    expect(judge(message(bytes({ hello: 1 }), 'E1'))).toMatchObject({ ok: false, code: 'invalid-event' });
    expect(judge(message(bytes(hrEvent('E1001')), 'E1001'))).toMatchObject({ ok: true });
  });
});
