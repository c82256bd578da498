// An app where memberships cannot be read (targets/profiles.ts `no-memberships`: users carry no
// `groups`, groups never show `members` nor answer a members filter): the connector says so, the
// plan grants but cannot revoke there, and the change ends action-required with the reason, never
// succeeded with the revokes silently skipped. A leaver's disable still happens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviourOf } from '../../targets/profiles.js';
import { hrEvent } from '../helpers/hr-events.js';
import { membershipsFromWrites } from '../helpers/memberships.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let chat: TestScimApp;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy({ moverGracePeriod: 'PT12S', leaverDeletionDelay: 'PT10M' }), behaviours: { chat: behaviourOf('no-memberships') } });
  chat = p.apps[0]!;
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('NM').replaceAll('.', '');

async function userOf(app: TestScimApp, employeeId: string): Promise<{ id: string; active: boolean } | undefined> {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  return res.body.Resources?.[0];
}


type Outcome = { sequence: number; eventType: string; status: string; reason?: string; steps: Array<{ app: string; action: string; outcome: string }>; deferred?: Array<{ app: string; action: string }> };

async function outcomeOf(id: string, sequence: number, eventType: string): Promise<Outcome> {
  return eventually(`the ${eventType} outcome of ${id}`, async () =>
    (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === id).map((m) => JSON.parse(m.value) as Outcome).find((o) => o.sequence === sequence && o.eventType === eventType),
  );
}

const send = (id: string, options: Parameters<typeof hrEvent>[1]) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id, options)) }]);

describe('an app whose memberships cannot be read', () => {
  it('a hire succeeds (there was nothing to read); a mover and a leaver end action-required with the reason, the leaver disabled', async () => {
    const id = employee();
    await send(id, { sequence: 1 });
    expect((await outcomeOf(id, 1, 'hr.worker.hired')).status).toBe('succeeded');
    const user = (await userOf(chat, id))!;
    expect((await membershipsFromWrites(chat, user.id)).length).toBeGreaterThan(0);

    await send(id, { type: 'hr.worker.updated', sequence: 2, data: { department: 'Research', title: 'Research Scientist' } });
    const moved = await outcomeOf(id, 2, 'hr.worker.updated');
    expect(moved.status).toBe('action-required');
    expect(moved.reason).toMatch(/^chat: memberships cannot be read: .*Revokes there were not planned/);
    expect(moved.steps.filter((s) => s.app === 'chat' && s.action === 'revoke')).toEqual([]);
    // Nor later: a mover's revokes wait out the grace period, so none may be scheduled either.
    expect((moved.deferred ?? []).filter((d) => d.app === 'chat' && d.action === 'revoke')).toEqual([]);

    await send(id, { type: 'hr.worker.terminated', sequence: 3, data: { status: 'terminated' } });
    const left = await outcomeOf(id, 3, 'hr.worker.terminated');
    expect(left.status).toBe('action-required');
    expect(left.reason).toMatch(/chat: memberships cannot be read/);
    expect(left.steps).toEqual(expect.arrayContaining([expect.objectContaining({ app: 'chat', action: 'disableAccount', outcome: 'applied' })]));
    expect((await userOf(chat, id))?.active).toBe(false);
    // The app that can say what the person holds is revoked as usual.
    const codeRevokes = left.steps.filter((s) => s.app === 'code' && s.action === 'revoke');
    expect(codeRevokes.length).toBeGreaterThan(0);
    expect(codeRevokes.map((s) => s.outcome)).toEqual(codeRevokes.map(() => 'applied'));
  });
});
