// Application modes in the store: an operator's arm or disarm is a row and an audit record naming
// the operator, committed together; a repeat changes nothing and appends nothing; the operator's
// reason is sealed under their key (in the row and in the record), never in clear; the chain verifies.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationModes, recordApplicationMode, setApplicationMode } from '../../../store/application-modes.js';
import { queryAudit } from '../../../store/audit-query.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const OPERATOR = `OPS${tag}`;
const SECOND = `OPT${tag}`;
const REASON = `pilot agreed with Grace Hopper ${tag}`;

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('application_modes');
});
afterAll(async () => {
  await t?.drop();
});

const countRecords = async (): Promise<number> => Number((await t.store.pool.query('select count(*) as n from audit_records')).rows[0].n);

describe('application modes in the store', () => {
  it('an arm is recorded with its audit record; a repeat changes nothing and appends nothing', async () => {
    expect((await applicationModes(t.store.pool)).size).toBe(0);
    const before = await countRecords();
    const first = await recordApplicationMode(t.store, { app: 'crm', mode: 'armed', operatorId: OPERATOR, reason: `  ${REASON} `, configDefault: 'plan-only' });
    expect(first).toMatchObject({ changed: true, previous: null });
    expect(first.record).not.toBeNull();
    const again = await recordApplicationMode(t.store, { app: 'crm', mode: 'armed', operatorId: SECOND, reason: 'again', configDefault: 'plan-only' });
    expect(again).toEqual({ changed: false, previous: 'armed', record: null });
    expect(await countRecords()).toBe(before + 1);

    const modes = await applicationModes(t.store.pool, t.store.keys.kek);
    expect(modes.get('crm')).toMatchObject({ mode: 'armed', changedBy: OPERATOR, reason: REASON });
    expect(modes.get('crm')!.changedAt).toBeInstanceOf(Date);
    // Without the key-encryption key (the worker's reader) the mode, not the reason.
    expect((await applicationModes(t.store.pool)).get('crm')).toMatchObject({ mode: 'armed', changedBy: OPERATOR, reason: undefined });

    const [record] = (await queryAudit(t.store.pool, t.store.keys.kek, { app: 'crm' })).filter((r) => r.action === 'application.armed');
    expect(record).toMatchObject({
      actorEmployeeId: OPERATOR,
      subjectEmployeeId: OPERATOR,
      reason: 'crm armed: its steps are written; before: plan-only (configuration default)',
      changes: [{ op: 'application.arm', app: 'crm', outcome: 'armed' }],
      personal: { reason: REASON },
    });
  });

  it('a disarm by another operator replaces the mode and names what it replaced', async () => {
    const result = await recordApplicationMode(t.store, { app: 'crm', mode: 'plan-only', operatorId: SECOND, reason: 'rollback' });
    expect(result).toMatchObject({ changed: true, previous: 'armed' });
    expect((await applicationModes(t.store.pool, t.store.keys.kek)).get('crm')).toMatchObject({ mode: 'plan-only', changedBy: SECOND, reason: 'rollback' });
    const records = await queryAudit(t.store.pool, t.store.keys.kek, { app: 'crm', order: 'asc' });
    expect(records.map((r) => r.action)).toEqual(['application.armed', 'application.disarmed']);
    expect(records[1]).toMatchObject({ actorEmployeeId: SECOND, reason: 'crm disarmed: plan-only, nothing is written; before: armed (recorded)' });
  });

  it('the reason never appears in clear, in the row or in the chain', async () => {
    const { rows } = await t.store.pool.query<{ row: string }>(`select t::text as row from application_modes t union all select t::text from audit_records t`);
    const dump = rows.map((r) => r.row).join('\n');
    for (const text of [REASON, 'Grace Hopper', Buffer.from('Grace Hopper').toString('hex')]) expect(dump).not.toContain(text);
    expect(await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier })).toMatchObject({ ok: true });
  });

  it('refuses what is not an application id, a mode or a reason, writing nothing', async () => {
    const before = await countRecords();
    const attempt = (input: Parameters<typeof setApplicationMode>[1]) => t.store.change((tx) => setApplicationMode(tx, input), () => null);
    await expect(attempt({ app: 'CRM; drop table', mode: 'armed', operatorId: OPERATOR, reason: 'x' })).rejects.toThrow(RangeError);
    await expect(attempt({ app: 'crm', mode: 'on' as never, operatorId: OPERATOR, reason: 'x' })).rejects.toThrow(/mode must be one of plan-only, armed/);
    await expect(attempt({ app: 'crm', mode: 'armed', operatorId: OPERATOR, reason: '   ' })).rejects.toThrow(/a reason is 1-500 characters/);
    await expect(attempt({ app: 'crm', mode: 'armed', operatorId: OPERATOR, reason: 'x'.repeat(501) })).rejects.toThrow(/a reason is 1-500 characters/);
    expect(await countRecords()).toBe(before);
    expect((await applicationModes(t.store.pool)).get('crm')?.mode).toBe('plan-only');
  });

  it('concurrent arms of one application: one change, one record', async () => {
    const before = await countRecords();
    const results = await Promise.all(
      [OPERATOR, SECOND, OPERATOR, SECOND].map((operatorId) => recordApplicationMode(t.store, { app: 'chat', mode: 'armed', operatorId, reason: 'go live' })),
    );
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(await countRecords()).toBe(before + 1);
  });

  it('an operator purged later: the mode stays, who set it and why can no longer be read', async () => {
    await recordApplicationMode(t.store, { app: 'code', mode: 'armed', operatorId: `GONE${tag}`, reason: 'temporary' });
    await t.store.pool.query('delete from identities where employee_id = $1', [`GONE${tag}`]);
    expect((await applicationModes(t.store.pool, t.store.keys.kek)).get('code')).toMatchObject({ mode: 'armed', changedBy: null, reason: undefined });
  });
});
