// Which failures count toward an application's quarantine, and the settings that apply to it.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AuthError, InvalidRequestError, NotFoundError, TransientError } from '../../../connectors/errors.js';
import { toApplicationFailure } from '../../../activities/failures.js';
import { countsTowardQuarantine, quarantineSettings } from '../../../policy/quarantine.js';
import { policyFileSchema } from '../../../schemas/policy.js';
import { quarantineSchema } from '../../../schemas/quarantine.js';

const app = (id: string, quarantine?: Record<string, unknown>) => ({ id, connector: 'scim', config: id, owner: 'owners', classification: 'internal', ...(quarantine ? { quarantine } : {}) });

describe('quarantine settings', () => {
  it('defaults to 20 failures in five minutes, probed every minute', () => {
    expect(quarantineSchema.parse({})).toEqual({ failures: 20, window: 'PT5M', probeEvery: 'PT1M' });
  });

  it('an application overrides the top-level section field by field', () => {
    const file = policyFileSchema.parse({ applications: [app('crm', { failures: 3 }), app('chat')], quarantine: { window: 'PT1M', probeEvery: 'PT10S' } });
    const model = { applications: file.applications!, quarantine: quarantineSchema.parse(file.quarantine) };
    expect(quarantineSettings(model, 'crm')).toEqual({ failures: 3, window: 'PT1M', windowMs: 60_000, probeEvery: 'PT10S', probeEveryMs: 10_000 });
    expect(quarantineSettings(model, 'chat')).toMatchObject({ failures: 20, windowMs: 60_000, probeEveryMs: 10_000 });
  });

  it('refuses a threshold below one, a misspelt key and a window that is not a duration, with a clear message', () => {
    const bad = [{ failures: 0 }, { failure: 5 }, { window: '5 minutes' }];
    const messages = bad.map((q) => {
      const r = policyFileSchema.safeParse({ quarantine: q });
      expect(r.success).toBe(false);
      return r.error!.issues[0]!.message;
    });
    expect(messages[0]).toMatch(/1 or more/);
    expect(messages[1]).toMatch(/failure/);
    expect(messages[2]).toMatch(/ISO 8601 duration/);
    expect(policyFileSchema.safeParse({ applications: [app('crm', { probeEvery: 'soon' })] }).success).toBe(false);
  });
});

describe('which failures count toward a quarantine', () => {
  it('counts the application\'s trouble: network, 5xx, 429 and timeouts, raw or as the boundary converted them', () => {
    const transient = new TransientError('503 service unavailable', 'crm', 2_000);
    expect(countsTowardQuarantine(transient)).toBe(true);
    expect(countsTowardQuarantine(toApplicationFailure(transient))).toBe(true);
  });

  it('does not count what is about one request: 400, 404, credentials, programmer errors, a quarantine itself', () => {
    for (const err of [new InvalidRequestError('400 invalidValue', 'crm'), new NotFoundError('404', 'crm'), new AuthError('401', 'crm'), new TypeError('bug')]) {
      expect(countsTowardQuarantine(err)).toBe(false);
      expect(countsTowardQuarantine(toApplicationFailure(err))).toBe(false);
    }
    expect(countsTowardQuarantine(ApplicationFailure.create({ type: 'ApplicationQuarantined', nonRetryable: true }))).toBe(false);
    expect(countsTowardQuarantine(new Error('store unavailable'))).toBe(false);
  });
});
