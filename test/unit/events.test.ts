import { describe, expect, it } from 'vitest';
import { EVENT_LIMITS, MAX_EVENT_BYTES, parseHrEvent } from '../../schemas/events.js';
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
    expect(parseHrEvent(null)).toEqual({ ok: false, code: 'empty', reason: 'empty message' });
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

describe('bounds on an HR event', () => {
  const reasonOf = (value: unknown) => {
    const parsed = parseHrEvent(typeof value === 'string' ? value : bytes(value));
    expect(parsed.ok).toBe(false);
    return parsed.ok ? '' : parsed.reason;
  };

  it('refuses a message over MAX_EVENT_BYTES as too-large, without reading it as JSON', () => {
    const over = Buffer.alloc(MAX_EVENT_BYTES + 1, 'x'); // not even JSON: size is checked first
    expect(parseHrEvent(over)).toMatchObject({ ok: false, code: 'too-large', reason: expect.stringMatching(/65537 bytes is over the 65536-byte limit/) });
    expect(judge(message(over, 'E1001'))).toMatchObject({ ok: false, code: 'too-large' });
  });

  it('refuses over-long text, naming the field', () => {
    expect(reasonOf(hrEvent('E1001', { data: { givenName: 'A'.repeat(EVENT_LIMITS.name + 1) } }))).toMatch(/at data\.givenName/);
    expect(reasonOf(hrEvent('E1001', { data: { title: 'T'.repeat(EVENT_LIMITS.text + 1) } }))).toMatch(/at data\.title/);
    expect(reasonOf(hrEvent('E1001', { data: { email: `${'a'.repeat(250)}@example.com` } }))).toMatch(/at data\.email/);
    expect(reasonOf(hrEvent('E1001', { data: { extensions: { badge: 'b'.repeat(EVENT_LIMITS.extensionValue + 1) } } }))).toMatch(/at data\.extensions\.badge/);
  });

  it('refuses more extension attributes than EVENT_LIMITS.extensionKeys, and over-long keys', () => {
    const many = Object.fromEntries(Array.from({ length: EVENT_LIMITS.extensionKeys + 1 }, (_, i) => [`k${i}`, i]));
    expect(reasonOf(hrEvent('E1001', { data: { extensions: many } }))).toMatch(/at most 50 extension attributes[\s\S]*at data\.extensions/);
    expect(parseHrEvent(bytes(hrEvent('E1001', { data: { extensions: Object.fromEntries(Object.entries(many).slice(1)) } }))).ok).toBe(true);
    expect(reasonOf(hrEvent('E1001', { data: { extensions: { ['k'.repeat(65)]: 1 } } }))).toMatch(/data\.extensions/);
  });

  it('takes a sequence only as a non-negative safe integer', () => {
    for (const sequence of [Number.MAX_SAFE_INTEGER + 1, 1e300, 1.5, -1]) expect(reasonOf(hrEvent('E1001', { sequence }))).toMatch(/at data\.sequence/);
    expect(reasonOf(JSON.stringify(hrEvent('E1001')).replace('"sequence":1', '"sequence":1e999'))).toMatch(/at data\.sequence/);
    expect(parseHrEvent(bytes(hrEvent('E1001', { sequence: Number.MAX_SAFE_INTEGER }))).ok).toBe(true);
  });
});

describe('event type and status agree', () => {
  it('refuses a termination whose status is not terminated (it would be planned as a mover)', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { type: 'hr.worker.terminated', sequence: 2, data: { status: 'active' } })));
    expect(parsed).toMatchObject({ ok: false, code: 'invalid-event' });
    expect(!parsed.ok && parsed.reason).toMatch(/hr\.worker\.terminated event must have status "terminated", not "active"[\s\S]*at data\.status/);
  });

  it.each(['hr.worker.hired', 'hr.worker.updated', 'hr.worker.rehired', 'hr.worker.leave.started', 'hr.worker.leave.ended'] as const)(
    'refuses %s with status terminated (access would end without a termination being reported)',
    (type) => {
      const parsed = parseHrEvent(bytes(hrEvent('E1001', { type, sequence: 2, data: { status: 'terminated' } })));
      expect(!parsed.ok && parsed.reason).toMatch(/status "terminated" is only for hr\.worker\.terminated events/);
    },
  );

  it('accepts a termination with status terminated', () => {
    expect(parseHrEvent(bytes(hrEvent('E1001', { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } }))).ok).toBe(true);
  });
});

describe('person text in an HR event', () => {
  it.each([
    ['a right-to-left override', 'Ada\u202Eecalevol', 'U+202E'],
    ['a first-strong isolate', 'Ada\u2068x', 'U+2068'],
    ['NUL', 'Ada\u0000', 'U+0000'],
    ['a line feed', 'Ada\nLovelace', 'U+000A'],
    ['a carriage return', 'Ada\r', 'U+000D'],
    ['DEL', 'Ada\u007F', 'U+007F'],
    ['a C1 control', 'Ada\u0085', 'U+0085'],
    ['a lone surrogate', 'Ada\uD800', 'U+D800'],
  ])('refuses %s in a name, naming the field and the character', (_, givenName, ch) => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { data: { givenName } })));
    expect(parsed).toMatchObject({ ok: false, code: 'invalid-event' });
    expect(!parsed.ok && parsed.reason).toMatch(new RegExp(`contains ${ch.replace('+', '\\+')}[\\s\\S]*at data\\.givenName`));
  });

  it('refuses such characters in e-mails, titles and extension values too', () => {
    for (const data of [{ email: 'ada\u202E@example.com' }, { title: 'Eng\u2066ineer' }, { department: 'R&D\u0007' }, { extensions: { badge: 'B\u001B[31m' } }]) {
      expect(parseHrEvent(bytes(hrEvent('E1001', { data }))).ok).toBe(false);
    }
  });

  it('trims surrounding white space and NFC-normalises, so one name has one spelling', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { data: { givenName: '  Zoe\u0301 ', familyName: 'Mu\u0308ller', title: ' Engineer ' } })));
    expect(parsed.ok && parsed.value.data).toMatchObject({ givenName: 'Zo\u00E9', familyName: 'M\u00FCller', title: 'Engineer' });
  });

  it('refuses a name that is only white space (it trims to nothing)', () => {
    const parsed = parseHrEvent(bytes(hrEvent('E1001', { data: { familyName: '   ' } })));
    expect(!parsed.ok && parsed.reason).toMatch(/at data\.familyName/);
  });
});
