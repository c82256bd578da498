// Metric labels are closed vocabularies: what looks like a person's id, a name with digits, an
// e-mail or free text becomes `other` (observability/metrics.ts label), and a 429 is counted.
import { describe, expect, it } from 'vitest';
import { errorForStatus } from '../../connectors/http-status.js';
import { errorClass, label, metrics } from '../../observability/metrics.js';
import { sourceLabel } from '../../runtime/store-metrics.js';

describe('metric labels', () => {
  it('keeps identifiers and refuses what could name a person', () => {
    for (const ok of ['chat', 'directory', 'disableAccount', 'hr.worker.hired', 'too-large', 'urn:hris:workday', 'crm-eu']) expect(label(ok)).toBe(ok);
    for (const bad of ['E1001', 'ada.lovelace@example.com', 'Ada Lovelace', 'T-123456', 'identity/E1001', 'x'.repeat(70), '']) expect(label(bad)).not.toBe(bad);
    expect(label(undefined)).toBe('none');
  });

  it('names a fence source by its family when it is a bulk one, by its name when it is a feed', () => {
    expect(sourceLabel('reconcile/chat')).toBe('reconcile');
    expect(sourceLabel('policy/0123abcd')).toBe('policy');
    expect(sourceLabel('urn:hris:workday')).toBe('urn:hris:workday');
    expect(sourceLabel('operator-retry')).toBe('operator-retry');
  });

  it('names error classes it knows and nothing else', () => {
    expect(errorClass(errorForStatus('chat', 503, 'busy'))).toBe('TransientError');
    expect(errorClass(errorForStatus('chat', 401, 'no'))).toBe('AuthError');
    expect(errorClass({ type: 'ApplicationQuarantined' })).toBe('ApplicationQuarantined');
    expect(errorClass(new Error('E1001 not found'))).toBe('other');
  });

  it('counts an application answering 429', async () => {
    const before = (await metrics.rateLimited.get()).values.find((v) => v.labels.app === 'crm')?.value ?? 0;
    errorForStatus('crm', 429, 'slow down', 2000);
    const after = (await metrics.rateLimited.get()).values.find((v) => v.labels.app === 'crm')?.value ?? 0;
    expect(after - before).toBe(1);
  });
});
