// The lifecycle against apps whose users never carry `groups` (targets/profiles.ts `no-groups`, as
// many SaaS SCIM servers): the connector reads memberships from the Groups endpoint, so a mover
// loses exactly what the policy removes and a leaver loses every group, and both end succeeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviourOf } from '../../targets/profiles.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let apps: Record<'chat' | 'code', TestScimApp>;
beforeAll(async () => {
  // A grace period long enough that a loaded machine still plans the mover's removal for later; a
  // deletion delay long enough to look at the leaver's groups before the account goes.
  const noGroups = behaviourOf('no-groups');
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy({ moverGracePeriod: 'PT12S', leaverDeletionDelay: 'PT10M' }), behaviours: { chat: noGroups, code: noGroups } });
  const [chat, code] = p.apps as [TestScimApp, TestScimApp];
  apps = { chat, code };
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('NG').replaceAll('.', '');

async function userOf(app: TestScimApp, employeeId: string): Promise<{ id: string; active: boolean; groups?: unknown } | undefined> {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  return res.body.Resources?.[0];
}

/** The person's groups in the app, by name, read from the groups' own member lists. */
async function groupsOf(app: TestScimApp, employeeId: string): Promise<string[]> {
  const u = await userOf(app, employeeId);
  if (!u) return [];
  expect(u.groups).toBeUndefined(); // the profile: users never carry them
  const res = await app.scim('GET', '/Groups?count=1000');
  return (res.body.Resources ?? [])
    .filter((g: { members?: Array<{ value: string }> }) => g.members?.some((m) => m.value === u.id))
    .map((g: { displayName: string }) => g.displayName)
    .sort();
}

type Step = { app: string; action: string; entitlementId?: string; outcome: string };
type Outcome = { sequence: number; eventType: string; status: string; steps: Step[]; deferred?: Array<{ key: string; app: string; action: string }> };

async function outcomes(employeeId: string): Promise<Outcome[]> {
  return (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === employeeId).map((m) => JSON.parse(m.value) as Outcome);
}

const outcomeOf = (id: string, sequence: number, eventType: string) =>
  eventually(`the ${eventType} outcome of ${id}`, async () => (await outcomes(id)).find((o) => o.sequence === sequence && o.eventType === eventType));

const send = (id: string, options: Parameters<typeof hrEvent>[1]) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id, options)) }]);

async function hired(id: string): Promise<Record<'chat' | 'code', string[]>> {
  await send(id, { sequence: 1 });
  expect((await outcomeOf(id, 1, 'hr.worker.hired')).status).toBe('succeeded');
  return { chat: await groupsOf(apps.chat, id), code: await groupsOf(apps.code, id) };
}

describe('the lifecycle against apps whose users never carry groups', () => {
  it('a mover gains the new groups at once and, after the grace period, loses exactly the groups the policy removes', async () => {
    const id = employee();
    const before = await hired(id);
    expect(before.chat).toEqual(expect.arrayContaining(['all-staff', 'engineering']));

    await send(id, { type: 'hr.worker.updated', sequence: 2, data: { department: 'Research', title: 'Research Scientist' } });
    const moved = await outcomeOf(id, 2, 'hr.worker.updated');
    expect(moved.status).toBe('succeeded');
    const revokeKeys = (moved.deferred ?? []).filter((d) => d.action === 'revoke').map((d) => d.key);
    expect(revokeKeys).toContain('revoke/chat/engineering');
    const expected = (app: 'chat' | 'code') => {
      const granted = moved.steps.filter((s) => s.app === app && s.action === 'grant').map((s) => s.entitlementId!);
      const revoked = revokeKeys.filter((k) => k.startsWith(`revoke/${app}/`)).map((k) => k.slice(`revoke/${app}/`.length));
      return [...new Set([...before[app], ...granted])].filter((g) => !revoked.includes(g)).sort();
    };
    expect(expected('chat')).toContain('research');

    await eventually(
      'the lost groups removed after the grace period, and nothing else',
      async () => {
        const [chat, code] = [await groupsOf(apps.chat, id), await groupsOf(apps.code, id)];
        return JSON.stringify(chat) === JSON.stringify(expected('chat')) && JSON.stringify(code) === JSON.stringify(expected('code')) ? true : undefined;
      },
      60_000,
    );
  });

  it('a leaver is disabled and loses every group in every app; the outcome is succeeded', async () => {
    const id = employee();
    const held = await hired(id);
    expect(held.chat.length + held.code.length).toBeGreaterThan(0);

    await send(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } });
    const left = await outcomeOf(id, 2, 'hr.worker.terminated');
    expect(left.status).toBe('succeeded');
    for (const app of ['chat', 'code'] as const) {
      const revoked = left.steps.filter((s) => s.app === app && s.action === 'revoke');
      expect(revoked.map((s) => s.outcome)).toEqual(held[app].map(() => 'applied'));
      expect((await userOf(apps[app], id))?.active).toBe(false);
      expect(await groupsOf(apps[app], id)).toEqual([]);
    }
  });
});
