// Quarantine in the store: failures are counted per application in the window across concurrent
// writers, the application is quarantined once (one audit record) past the threshold, failures
// older than the window do not count, the probe never releases a held application, and a release
// forgets the failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../store/audit-query.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { applicationQuarantine, holdApplication, PROBE_ACTOR, recordApplicationFailure, releaseApplication } from '../../../store/quarantine.js';
import { createTestStore, type TestStore } from './test-store.js';

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('quarantine');
});
afterAll(async () => {
  await t?.drop();
});

const threshold = { failures: 5, window: 'PT1M', windowMs: 60_000 };
const fail = (app: string) => recordApplicationFailure(t.store, { app, errorType: 'TransientError', ...threshold });

describe('quarantine in the store', () => {
  it('quarantines once past the threshold, with one audit record, whatever the concurrency', async () => {
    for (let i = 1; i < threshold.failures; i++) expect(await fail('crm')).toEqual({ failures: i, quarantined: false, newly: false });
    expect(await applicationQuarantine(t.store.pool, 'crm')).toBeUndefined();
    // Twenty workers failing at once: exactly one of them quarantines the application.
    const results = await Promise.all(Array.from({ length: 20 }, () => fail('crm')));
    expect(results.filter((r) => r.newly)).toHaveLength(1);
    expect(results.every((r) => r.quarantined)).toBe(true);
    expect((await applicationQuarantine(t.store.pool, 'crm'))?.state).toBe('quarantined');
    const records = await queryAudit(t.store.pool, t.store.keys.kek, { action: 'application.quarantined' });
    expect(records).toHaveLength(1);
    expect(records[0]!.reason).toMatch(/^crm: \d+ retryable failures in PT1M \(threshold 5; last: TransientError\)/);
    // Another application's failures are its own.
    expect(await fail('chat')).toEqual({ failures: 1, quarantined: false, newly: false });
  });

  it('does not count failures older than the window', async () => {
    await t.store.pool.query(`insert into application_failures (app, failed_at, error_type) select 'hr', now() - interval '2 minutes', 'TransientError' from generate_series(1, 10)`);
    expect(await fail('hr')).toEqual({ failures: 1, quarantined: false, newly: false });
    // ...and forgets them.
    expect(Number((await t.store.pool.query(`select count(*) as n from application_failures where app = 'hr'`)).rows[0].n)).toBe(1);
  });

  it('the probe releases a quarantined application and forgets its failures; a new failure does not re-quarantine it', async () => {
    expect(await releaseApplication(t.store, { app: 'crm', actor: PROBE_ACTOR, onlyIf: 'quarantined' })).toEqual({ released: true, previous: 'quarantined' });
    expect(await applicationQuarantine(t.store.pool, 'crm')).toBeUndefined();
    expect(await fail('crm')).toEqual({ failures: 1, quarantined: false, newly: false });
    expect(await releaseApplication(t.store, { app: 'crm', actor: PROBE_ACTOR, onlyIf: 'quarantined' })).toEqual({ released: false, previous: null });
  });

  it('the probe never releases a held application; the operator does, and both are audited with the operator', async () => {
    expect(await holdApplication(t.store, { app: 'ldap', operatorId: 'OPS1', reason: 'directory migration' })).toEqual({ changed: true, previous: null });
    expect(await holdApplication(t.store, { app: 'ldap', operatorId: 'OPS1', reason: 'again' })).toEqual({ changed: false, previous: 'held' });
    expect(await releaseApplication(t.store, { app: 'ldap', actor: PROBE_ACTOR, onlyIf: 'quarantined' })).toEqual({ released: false, previous: 'held' });
    expect((await applicationQuarantine(t.store.pool, 'ldap'))?.state).toBe('held');
    expect(await releaseApplication(t.store, { app: 'ldap', actor: { type: 'person', employeeId: 'OPS1' }, reason: 'migration done' })).toEqual({ released: true, previous: 'held' });
    const held = await queryAudit(t.store.pool, t.store.keys.kek, { action: 'application.quarantine-held' });
    expect(held.map((r) => r.actorEmployeeId)).toEqual(['OPS1']);
    const released = await queryAudit(t.store.pool, t.store.keys.kek, { action: 'application.released' });
    expect(released.map((r) => r.actorEmployeeId ?? r.actor)).toEqual(['OPS1', 'system:probe']);
    expect(await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier })).toMatchObject({ ok: true });
  });

  it('refuses an application id that is not one, and an empty reason, before writing anything', async () => {
    await expect(fail('Not An App')).rejects.toThrow(/not an application id/);
    await expect(holdApplication(t.store, { app: 'crm', operatorId: 'OPS1', reason: '   ' })).rejects.toThrow(/a reason is 1-500 characters/);
    expect(await applicationQuarantine(t.store.pool, 'crm')).toBeUndefined();
  });
});
