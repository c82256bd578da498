import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { parseItsmEvent } from '../../schemas/itsm-events.js';
import { validateEventFile } from '../../ingress/event-files.js';
import { hrEvent } from '../helpers/hr-events.js';
import { accessRequestInput, judgeItsm, revocationRequest } from '../../ingress/itsm-consumer.js';
import { accessRequested, approvalDecided, revokeRequested } from '../integration/fixtures/itsm-events.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const message = (value: Buffer | null, key?: string) => ({ key: key === undefined ? null : Buffer.from(key), value, offset: '0', timestamp: '0', attributes: 0, headers: {} });
const reasonOf = (value: unknown) => {
  const parsed = parseItsmEvent(bytes(value));
  expect(parsed.ok).toBe(false);
  return parsed.ok ? '' : parsed.reason;
};

describe('itsm.access.requested', () => {
  it('accepts a request with a duration, and keeps unknown envelope extensions', () => {
    const parsed = parseItsmEvent(bytes({ ...accessRequested('RITM1', 'E00025'), traceparent: '00-abc-def-01' }));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.value.type !== 'itsm.access.requested') return;
    expect(parsed.value.data).toMatchObject({ ticketId: 'RITM1', beneficiaryId: 'E00025', entitlement: { app: 'code', id: 'maintainers' }, duration: 'P30D' });
    expect(parsed.value).toHaveProperty('traceparent');
  });

  it('accepts a request without a duration, and short and long ISO 8601 durations', () => {
    const event = accessRequested('RITM1', 'E00025');
    delete (event.data as Record<string, unknown>).duration;
    expect(parseItsmEvent(bytes(event)).ok).toBe(true);
    for (const duration of ['PT2M', 'P30D', 'P1Y6M', 'P2W', 'PT1.5S']) expect(parseItsmEvent(bytes(accessRequested('RITM1', 'E00025', { data: { duration } }))).ok).toBe(true);
  });

  it('rejects a duration longer than MAX_DURATION (P9999999Y is no date at all), naming the field', () => {
    for (const duration of ['P9999999Y', 'P101Y', 'P36501D', `P${'9'.repeat(400)}D`]) {
      expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { duration } }))).toMatch(/at most P100Y[\s\S]*at data\.duration/);
    }
    expect(parseItsmEvent(bytes(accessRequested('RITM1', 'E00025', { data: { duration: 'P100Y' } }))).ok).toBe(true);
  });

  it('refuses control and bidi characters in the justification, and trims it', () => {
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { justification: 'needed \u202Egnp.exe' } }))).toMatch(/contains U\+202E[\s\S]*at data\.justification/);
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { justification: '   ' } }))).toMatch(/at data\.justification/);
    const parsed = parseItsmEvent(bytes(accessRequested('RITM1', 'E00025', { data: { justification: '  on call  ' } })));
    expect(parsed.ok && parsed.value.type === 'itsm.access.requested' && parsed.value.data.justification).toBe('on call');
  });

  it('rejects a duration that is not ISO 8601, naming the field', () => {
    for (const duration of ['30 days', 'P', 'PT', 'P1DT', '30d']) {
      expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { duration } }))).toMatch(/ISO 8601 duration[\s\S]*at data\.duration/);
    }
  });

  it('requires a justification of 1 to 2000 characters', () => {
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { justification: '' } }))).toMatch(/data\.justification/);
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { justification: 'x'.repeat(2001) } }))).toMatch(/data\.justification/);
    expect(parseItsmEvent(bytes(accessRequested('RITM1', 'E00025', { data: { justification: 'x'.repeat(2000) } }))).ok).toBe(true);
    const missing = accessRequested('RITM1', 'E00025');
    delete (missing.data as Record<string, unknown>).justification;
    expect(reasonOf(missing)).toMatch(/data\.justification/);
  });

  it('rejects a subject that is not the beneficiary', () => {
    expect(reasonOf(accessRequested('RITM1', 'E00025', { subject: 'E00021' }))).toMatch(/subject must equal data\.beneficiaryId/);
  });

  it('rejects ticket ids that could not be part of a workflow id, and a malformed entitlement', () => {
    for (const ticketId of ['', '-RITM1', 'RITM 1', 'RITM/1', 'x'.repeat(65)]) {
      expect(reasonOf(accessRequested(ticketId, 'E00025'))).toMatch(/a ticket id is[\s\S]*at data\.ticketId/);
    }
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { entitlement: 'code:maintainers' } }))).toMatch(/data\.entitlement/);
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { entitlement: { app: 'Code', id: 'maintainers' } } }))).toMatch(/data\.entitlement\.app/);
    expect(reasonOf(accessRequested('RITM1', 'E00025', { data: { entitlement: { app: 'code' } } }))).toMatch(/data\.entitlement\.id/);
  });

  it('becomes the access request workflow input, without the envelope extensions', () => {
    const parsed = parseItsmEvent(bytes(accessRequested('RITM1', 'E00025')));
    if (!parsed.ok || parsed.value.type !== 'itsm.access.requested') throw new Error('expected a request');
    expect(accessRequestInput(parsed.value)).toEqual({
      ticketId: 'RITM1',
      requesterId: 'E00025',
      beneficiaryId: 'E00025',
      app: 'code',
      entitlementId: 'maintainers',
      justification: 'I maintain the release tooling.',
      duration: 'P30D',
      eventId: 'RITM1-requested',
      source: 'urn:itsm:test',
      time: parsed.value.time,
    });
  });
});

describe('itsm.access.revoke.requested', () => {
  it('accepts a revoke with or without a justification', () => {
    expect(parseItsmEvent(bytes(revokeRequested('RITM2', 'E00025'))).ok).toBe(true);
    expect(parseItsmEvent(bytes(revokeRequested('RITM2', 'E00025', { data: { justification: 'left the project' } }))).ok).toBe(true);
  });

  it('rejects a revoke without an entitlement, or whose subject is not the beneficiary', () => {
    const event = revokeRequested('RITM2', 'E00025');
    delete (event.data as Record<string, unknown>).entitlement;
    expect(reasonOf(event)).toMatch(/data\.entitlement/);
    expect(reasonOf(revokeRequested('RITM2', 'E00025', { subject: 'E00099' }))).toMatch(/subject must equal data\.beneficiaryId/);
    expect(reasonOf(revokeRequested('RITM2', 'E00025', { data: { justification: '' } }))).toMatch(/data\.justification/);
  });

  it('becomes the identity workflow’s revocation signal', () => {
    const parsed = parseItsmEvent(bytes(revokeRequested('RITM2', 'E00025')));
    if (!parsed.ok || parsed.value.type !== 'itsm.access.revoke.requested') throw new Error('expected a revoke');
    expect(revocationRequest(parsed.value)).toEqual({ ticketId: 'RITM2', eventId: 'RITM2-revoke', requesterId: 'E00021', app: 'code', entitlementId: 'maintainers', source: 'urn:itsm:test' });
  });
});

describe('itsm.approval.decided', () => {
  it('accepts an approval and a rejection, with or without a comment and ticket id', () => {
    expect(parseItsmEvent(bytes(approvalDecided('req-RITM1.1.1', 'E00025'))).ok).toBe(true);
    expect(parseItsmEvent(bytes(approvalDecided('req-RITM1.1.1', 'E00025', { data: { decision: 'rejected', comment: undefined, ticketId: 'RITM1' } }))).ok).toBe(true);
    expect(parseItsmEvent(bytes(approvalDecided('idn-E00025-3.1.2', 'E00025'))).ok).toBe(true);
  });

  it('rejects an unknown decision, an over-long comment and a malformed approval id', () => {
    expect(reasonOf(approvalDecided('req-RITM1.1.1', 'E00025', { data: { decision: 'maybe' } }))).toMatch(/data\.decision/);
    expect(reasonOf(approvalDecided('req-RITM1.1.1', 'E00025', { data: { comment: 'x'.repeat(2001) } }))).toMatch(/data\.comment/);
    expect(reasonOf(approvalDecided('req RITM1', 'E00025'))).toMatch(/an approval id is[\s\S]*at data\.approvalId/);
    expect(reasonOf(approvalDecided(`a${'x'.repeat(161)}`, 'E00025'))).toMatch(/data\.approvalId/);
    expect(reasonOf(approvalDecided('req-RITM1.1.1', 'E00025', { data: { approverId: 'E 1' } }))).toMatch(/data\.approverId/);
  });

  it('rejects a ticket id that is not the approval’s ticket', () => {
    expect(reasonOf(approvalDecided('req-RITM1.1.1', 'E00025', { data: { ticketId: 'RITM2' } }))).toMatch(/not an approval of ticket RITM2/);
  });

  it('refuses a control character in a decision comment', () => {
    expect(reasonOf(approvalDecided('req-RITM1.1.1', 'E00025', { data: { comment: 'ok\u0000' } }))).toMatch(/contains U\+0000[\s\S]*at data\.comment/);
  });

  it('rejects a subject that is not the person of an identity workflow’s approval', () => {
    expect(reasonOf(approvalDecided('idn-E00025-3.1.2', 'E00099'))).toMatch(/subject must be the person whose approval/);
  });
});

describe('any itsm.requests message', () => {
  it('explains bytes that are not JSON, an empty message and an unknown type', () => {
    expect(parseItsmEvent(Buffer.from('{not json'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(parseItsmEvent(null)).toEqual({ ok: false, code: 'empty', reason: 'empty message' });
    expect(reasonOf({ ...accessRequested('RITM1', 'E00025'), type: 'itsm.access.granted' })).toMatch(/type/);
    expect(reasonOf({ ...accessRequested('RITM1', 'E00025'), specversion: '0.3' })).toMatch(/specversion/);
  });

  it('the ingress verdict classifies the reason and checks that the key is the subject', () => {
    expect(judgeItsm(message(Buffer.from('nope'), 'E1'))).toMatchObject({ ok: false, code: 'invalid-json' });
    expect(judgeItsm(message(null, 'E1'))).toMatchObject({ ok: false, code: 'empty' });
    expect(judgeItsm(message(bytes({ hello: 1 }), 'E1'))).toMatchObject({ ok: false, code: 'invalid-event' });
    expect(judgeItsm(message(bytes(accessRequested('RITM1', 'E00025')), 'E00021'))).toMatchObject({ ok: false, code: 'key-mismatch' });
    expect(judgeItsm(message(bytes(approvalDecided('req-RITM1.1.1', 'E00025')), 'E00025'))).toMatchObject({ ok: true });
  });
});

describe('event files for `provisioner publish`', () => {
  it('routes each line by its type: itsm.* to the ITSM feed, the rest to HR, keyed by subject', () => {
    const text = [JSON.stringify(hrEvent('E1001')), '// a comment', '', JSON.stringify(accessRequested('RITM1', 'E00025'))].join('\n');
    const validated = validateEventFile(text);
    expect(validated.errors).toEqual([]);
    expect(validated.events.map((e) => [e.feed, e.subject, e.type])).toEqual([
      ['hr', 'E1001', 'hr.worker.hired'],
      ['itsm', 'E00025', 'itsm.access.requested'],
    ]);
  });

  it('reports an invalid ITSM line against the ITSM contract, with its line number', () => {
    const validated = validateEventFile(`${JSON.stringify(hrEvent('E1001'))}\n${JSON.stringify(accessRequested('RITM1', 'E00025', { subject: 'E1' }))}`);
    expect(validated.errors).toEqual([{ line: 2, reason: expect.stringMatching(/itsm\.requests[\s\S]*subject must equal data\.beneficiaryId/) }]);
  });

  it('the examples in examples/events are valid and name people of examples/identities.jsonl', () => {
    const dir = path.join(projectRoot, 'examples', 'events');
    const people = new Set(readFileSync(path.join(projectRoot, 'examples', 'identities.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { employeeId: string }).employeeId));
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const types = new Set<string>();
    for (const file of files) {
      const validated = validateEventFile(readFileSync(path.join(dir, file), 'utf8'));
      expect(validated.errors, file).toEqual([]);
      for (const e of validated.events) {
        types.add(e.type);
        expect(people.has(e.subject), `${file}: ${e.subject}`).toBe(true);
        const data = (JSON.parse(e.raw) as { data: Record<string, unknown> }).data;
        for (const who of ['requesterId', 'beneficiaryId', 'approverId']) if (typeof data[who] === 'string') expect(people.has(data[who]), `${file}: ${who}`).toBe(true);
      }
    }
    expect([...types].sort()).toEqual(['itsm.access.requested', 'itsm.access.revoke.requested', 'itsm.approval.decided']);
  });
});
