// HR data quality on the real stack (issue 16 item 5): two people with one e-mail address are both
// held action-required for the SCIM apps, neither takes the other's account, and each app holds
// one account only (the first's, untouched); a person whose `whenMissing: hold` attribute goes
// missing keeps all access and is flagged. Each detection is audited once.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../store/audit-query.js';
import { hrEvent } from '../helpers/hr-events.js';
import { membershipsFromWrites } from '../helpers/memberships.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

/** The test policy with `department` declared `whenMissing: hold`. */
function holdingPolicy(): string {
  const dir = writeTestPolicy({ moverGracePeriod: 'PT1S', leaverDeletionDelay: 'PT10M' });
  const file = path.join(dir, 'attributes.yaml');
  const text = readFileSync(file, 'utf8');
  const declared = '{ name: department, type: string }';
  if (!text.includes(declared)) throw new Error(`${file} no longer declares ${declared}: update this test`);
  writeFileSync(file, text.replace(declared, '{ name: department, type: string, whenMissing: hold }'));
  return dir;
}

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: holdingPolicy() });
});
afterAll(async () => {
  await p?.close();
});

const employee = (label: string) => uniqueName(label).replaceAll('.', '');

type Outcome = { sequence: number; eventType: string; status: string; reason?: string; steps: Array<{ app: string; action: string; outcome: string }>; deferred?: Array<{ app: string; action: string }> };

async function outcomeOf(id: string, sequence: number, eventType: string): Promise<Outcome> {
  return eventually(`the ${eventType} outcome of ${id}`, async () =>
    (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === id).map((m) => JSON.parse(m.value) as Outcome).find((o) => o.sequence === sequence && o.eventType === eventType),
  );
}

const send = (id: string, options: Parameters<typeof hrEvent>[1]) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id, options)) }]);

type User = { id: string; active: boolean; externalId?: string; meta: { version?: string } };
async function usersWhere(app: TestScimApp, filter: string): Promise<User[]> {
  return (await app.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`)).body.Resources ?? [];
}


const heldRecords = async (employeeId: string) => (await queryAudit(p.store.pool, p.store.keys.kek, { employeeId })).filter((r) => r.action === 'identity.held');

describe('HR data quality', () => {
  it('two people with one e-mail are both held action-required; neither takes the other\'s account', async () => {
    const first = employee('DQA');
    const second = employee('DQB');
    const email = `${first.toLowerCase()}@example.com`;
    await send(first, { sequence: 1 });
    expect((await outcomeOf(first, 1, 'hr.worker.hired')).status).toBe('succeeded');
    const before = await Promise.all(p.apps.map(async (app) => (await usersWhere(app, `externalId eq "${first}"`))[0]!));
    const writesBefore = await Promise.all(p.apps.map(async (app) => (await app.admin.writes({ limit: 10_000 })).length));

    // The second person's HR record claims the first's address (in another case).
    await send(second, { sequence: 1, data: { email: email.toUpperCase(), givenName: 'Grace', familyName: 'Hopper' } });
    const held = await outcomeOf(second, 1, 'hr.worker.hired');
    expect(held.status).toBe('action-required');
    expect(held.reason).toContain(`chat: the e-mail address is also claimed by ${first}`);
    expect(held.reason).toContain(`code: the e-mail address is also claimed by ${first}`);
    expect(held.steps).toEqual([]);

    for (const [i, app] of p.apps.entries()) {
      expect(await usersWhere(app, `externalId eq "${second}"`)).toEqual([]);
      // One account with that address: the first's, untouched (no write since its hire).
      const holders = await usersWhere(app, `userName eq "${email}"`);
      expect(holders.map((u) => u.externalId)).toEqual([first]);
      expect(holders[0]!.meta.version).toBe(before[i]!.meta.version);
      expect((await app.admin.writes({ limit: 10_000 })).length).toBe(writesBefore[i]);
    }

    // The first person, already provisioned, is flagged on their next change, and keeps their account.
    await send(first, { type: 'hr.worker.updated', sequence: 2, data: { title: 'Senior Engineer' } });
    const flagged = await outcomeOf(first, 2, 'hr.worker.updated');
    expect(flagged.status).toBe('action-required');
    expect(flagged.reason).toContain(`chat: the e-mail address is also claimed by ${second}`);
    for (const app of p.apps) expect((await usersWhere(app, `externalId eq "${first}"`)).map((u) => u.active)).toEqual([true]);

    // Audited once per detection, naming the applications, never the address.
    const records = await heldRecords(second);
    expect(records).toHaveLength(1);
    expect(records[0]!.changes.map((c) => c.app)).toEqual(expect.arrayContaining(['chat', 'code']));
    expect(JSON.stringify(records[0])).not.toContain(email);
    expect(await heldRecords(first)).toHaveLength(1);
  });

  it('a person whose hold attribute goes missing keeps all access and is flagged', async () => {
    const id = employee('DQM');
    await send(id, { sequence: 1 });
    expect((await outcomeOf(id, 1, 'hr.worker.hired')).status).toBe('succeeded');
    const users = await Promise.all(p.apps.map(async (app) => (await usersWhere(app, `externalId eq "${id}"`))[0]!));
    const groups = await Promise.all(p.apps.map((app, i) => membershipsFromWrites(app, users[i]!.id)));
    expect(groups.flat().length).toBeGreaterThan(0);

    // The feed loses the department: with `evaluate`, the engineer's access would be revoked.
    await send(id, { type: 'hr.worker.updated', sequence: 2, data: { department: undefined } });
    const held = await outcomeOf(id, 2, 'hr.worker.updated');
    expect(held.status).toBe('action-required');
    expect(held.reason).toBe('attribute department missing from the HR snapshot (whenMissing: hold): no access was removed; have HR send it');
    expect(held.steps.filter((s) => s.action === 'revoke' || s.action === 'disableAccount')).toEqual([]);
    expect((held.deferred ?? []).filter((d) => d.action === 'revoke' || d.action === 'disableAccount')).toEqual([]);
    // Past the (one-second) grace period nothing was removed either.
    await new Promise((r) => setTimeout(r, 1500));
    for (const [i, app] of p.apps.entries()) {
      expect((await usersWhere(app, `externalId eq "${id}"`))[0]!.active).toBe(true);
      expect(await membershipsFromWrites(app, users[i]!.id)).toEqual(groups[i]);
    }
    expect(await heldRecords(id)).toHaveLength(1);

    // HR sends it again: the change converges and nothing is held.
    await send(id, { type: 'hr.worker.updated', sequence: 3 });
    expect((await outcomeOf(id, 3, 'hr.worker.updated')).status).toBe('succeeded');
  });
});
