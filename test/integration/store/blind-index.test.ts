// The e-mail blind index: written with every stored snapshot, never the address in clear; a
// look-up finds the other living people who claim an address (any case, stray spaces), never the
// person themself nor a leaver; a KEK rotation strands no digest.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerSnapshot } from '../../../schemas/events.js';
import type { AuditEntry } from '../../../store/audit-record.js';
import { peopleSharing, upsertIdentity } from '../../../store/identities.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(3).toString('hex').toUpperCase();
const E = (n: string): string => `${n}${tag}`;
const about = (employeeId: string): AuditEntry => ({ actor: { type: 'system', id: 'identity-workflow' }, action: 'test.change', reason: 'test', subject: { employeeId } });
const shared = `ada.${tag.toLowerCase()}@example.com`;

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('blind_index');
});
afterAll(async () => {
  await t?.drop();
});

function snapshot(employeeId: string, sequence: number, extra: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { employeeId, sequence, effectiveAt: '2026-01-05T09:00:00Z', status: 'active', givenName: 'Ada', familyName: 'Lovelace', email: shared, ...extra };
}
const store = (s: WorkerSnapshot) => t.store.change((tx) => upsertIdentity(tx, s), () => about(s.employeeId));
const sharing = (employeeId: string, value = shared) => peopleSharing(t.store.pool, t.store.keys.kek!, { employeeId, values: [{ attribute: 'email', value }] });

describe('the e-mail blind index', () => {
  it('is written with the snapshot as a digest, never the address', async () => {
    await store(snapshot(E('BA'), 1));
    const { rows } = await t.store.pool.query('select email_digest from identities where employee_id = $1', [E('BA')]);
    expect(rows[0].email_digest).toBeInstanceOf(Buffer);
    expect(rows[0].email_digest).toHaveLength(32);
    expect(rows[0].email_digest.toString('latin1')).not.toContain(shared);
  });

  it('finds the others claiming an address, in any case, but not the person themself', async () => {
    await store(snapshot(E('BB'), 1, { email: shared.toUpperCase() }));
    expect(await sharing(E('BA'))).toEqual([{ attribute: 'email', value: shared, employeeIds: [E('BB')] }]);
    expect(await sharing(E('BB'))).toEqual([{ attribute: 'email', value: shared, employeeIds: [E('BA')] }]);
    // The person themself, whatever the case of the id they are asked about by.
    expect((await sharing(E('ba').toLowerCase()))[0]!.employeeIds).toEqual([E('BB')]);
    expect(await sharing(E('BC'), `nobody.${tag}@example.com`)).toEqual([]);
  });

  it('forgets an address the person no longer has, and ignores leavers', async () => {
    await store(snapshot(E('BB'), 2, { email: `bb.${tag}@example.com` }));
    expect(await sharing(E('BA'))).toEqual([]);
    await store(snapshot(E('BD'), 1));
    await store(snapshot(E('BD'), 2, { status: 'terminated' }));
    expect(await sharing(E('BA'))).toEqual([]);
  });

  it('finds digests made under a retired KEK after a rotation', async () => {
    const old = t.store.keys.kek!;
    const rotated = { activeId: 'next-kek', keys: new Map([['next-kek', randomBytes(32)], ...old.keys]) };
    expect(await peopleSharing(t.store.pool, rotated, { employeeId: E('BZ'), values: [{ attribute: 'email', value: shared }] })).toEqual([{ attribute: 'email', value: shared, employeeIds: [E('BA')] }]);
  });
});
