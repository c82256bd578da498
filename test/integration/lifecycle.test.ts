// Joiner, mover, leaver, rehire, leave and saga rollback on the real stack, with the example
// policy's durations shortened to seconds (test/helpers/test-policy.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let chat: TestScimApp;
let code: TestScimApp;
beforeAll(async () => {
  // A grace period long enough that a loaded machine still plans the mover's removal for later.
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy({ moverGracePeriod: 'PT12S' }) });
  [chat, code] = p.apps as [TestScimApp, TestScimApp];
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('L').replaceAll('.', '');

async function user(app: TestScimApp, employeeId: string): Promise<{ id: string; active: boolean } | undefined> {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  const found = res.body.Resources ?? [];
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0];
}

async function groupsOf(app: TestScimApp, employeeId: string): Promise<string[]> {
  const u = await user(app, employeeId);
  if (!u) return [];
  const res = await app.scim('GET', `/Groups?count=1000`);
  return (res.body.Resources ?? [])
    .filter((g: { members?: Array<{ value: string }> }) => g.members?.some((m) => m.value === u.id))
    .map((g: { displayName: string }) => g.displayName)
    .sort();
}

async function outcomes(employeeId: string) {
  return (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === employeeId).map((m) => JSON.parse(m.value));
}

const send = (id: string, options: Parameters<typeof hrEvent>[1]) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id, options)) }]);

async function hired(id: string, data: Record<string, unknown> = {}) {
  await send(id, { sequence: 1, data });
  return eventually(`${id} hired`, async () => {
    const done = (await outcomes(id)).find((o) => o.sequence === 1);
    return done?.status === 'succeeded' ? done : undefined;
  });
}

describe('the identity lifecycle', () => {
  it('a joiner gets the birthright groups of the policy in each app, with the policy version in the outcome', async () => {
    const id = employee();
    const outcome = await hired(id);
    expect(outcome.policyVersion).toMatch(/^sha256:/);
    expect(await groupsOf(chat, id)).toEqual(expect.arrayContaining(['all-staff', 'engineering']));
    expect(await groupsOf(code, id)).toEqual(expect.arrayContaining(['developers']));
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    expect(Object.keys(state.accounts).sort()).toEqual(expect.arrayContaining(['chat', 'code']));
  });

  it('a mover gains new access at once and loses the old only after the grace period', async () => {
    const id = employee();
    await hired(id);
    await send(id, { type: 'hr.worker.updated', sequence: 2, data: { department: 'Research', title: 'Research Scientist' } });
    const moved = await eventually('the mover outcome', async () => (await outcomes(id)).find((o) => o.sequence === 2 && o.eventType === 'hr.worker.updated'));
    expect(moved.status).toBe('succeeded');
    expect(moved.deferred.map((d: { key: string }) => d.key)).toContain('revoke/chat/engineering');
    const during = await groupsOf(chat, id);
    expect(during).toEqual(expect.arrayContaining(['research', 'engineering']));
    await eventually('the lost access removed after the grace period', async () => {
      const after = await groupsOf(chat, id);
      return after.includes('research') && !after.includes('engineering') ? true : undefined;
    }, 60_000);
  });

  it('a leaver is disabled everywhere at once, revoked, and deleted after the deletion delay', async () => {
    const id = employee();
    await hired(id);
    await send(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } });
    const left = await eventually('the leaver outcome', async () => (await outcomes(id)).find((o) => o.sequence === 2 && o.eventType === 'hr.worker.terminated'));
    expect(left.status).toBe('succeeded');
    const actions = left.steps.map((s: { action: string }) => s.action);
    expect(actions.lastIndexOf('disableAccount')).toBeLessThan(actions.indexOf('revoke'));
    expect((await user(chat, id))?.active).toBe(false);
    expect(await groupsOf(chat, id)).toEqual([]);
    await eventually('the accounts deleted after the deletion delay', async () => ((await user(chat, id)) === undefined && (await user(code, id)) === undefined ? true : undefined), 30_000);
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    expect(state.status).toBe('deprovisioned');
  });

  it('a rehire before the deletion re-enables the same account: never a second one', async () => {
    const id = employee();
    await hired(id);
    const before = await user(chat, id);
    await send(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } });
    await eventually('disabled', async () => ((await user(chat, id))?.active === false ? true : undefined));
    await send(id, { type: 'hr.worker.rehired', sequence: 3 });
    await eventually('re-enabled', async () => ((await user(chat, id))?.active === true ? true : undefined));
    expect((await user(chat, id))?.id).toBe(before?.id);
    await new Promise((r) => setTimeout(r, 5_000)); // past the deletion delay of the termination
    expect((await user(chat, id))?.id).toBe(before?.id);
    const creates = (await chat.admin.writes()).filter((w) => w.externalId === id && w.operation === 'create');
    expect(creates).toHaveLength(1);
  });

  it('leave suspends the accounts and the return resumes them', async () => {
    const id = employee();
    await hired(id);
    await send(id, { type: 'hr.worker.leave.started', sequence: 2, data: { status: 'on-leave' } });
    await eventually('suspended', async () => ((await user(code, id))?.active === false ? true : undefined));
    await send(id, { type: 'hr.worker.leave.ended', sequence: 3, data: { status: 'active' } });
    await eventually('resumed', async () => ((await user(code, id))?.active === true ? true : undefined));
  });

  it('an existing account is adopted only as the correlation rules say: chat automatically, code never without approval', async () => {
    const id = employee();
    const email = `${id.toLowerCase()}@example.com`;
    const existing = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, emails: [{ value: email, primary: true }], name: { givenName: 'Self', familyName: 'Made' } };
    const mine = (await chat.scim('POST', '/Users', { body: existing })).body;
    const theirs = (await code.scim('POST', '/Users', { body: existing })).body;
    await send(id, { sequence: 1 });
    const outcome = await eventually('the hire outcome', async () => (await outcomes(id)).find((o) => o.sequence === 1));
    expect(outcome.status).toBe('action-required');
    expect(outcome.steps.find((s: { app: string; action: string }) => s.app === 'chat' && s.action === 'ensureAccount')).toMatchObject({ outcome: 'updated', accountId: mine.id });
    expect(outcome.steps.find((s: { app: string; action: string }) => s.app === 'code' && s.action === 'ensureAccount')).toMatchObject({ outcome: 'action-required' });
    expect((await user(chat, id))?.id).toBe(mine.id);
    const untouched = (await code.scim('GET', `/Users/${theirs.id}`)).body;
    expect(untouched.externalId).toBeUndefined();
    expect(untouched.name.givenName).toBe('Self');
  });

  it('when a step fails for good, what the change did is undone in reverse and the outcome says so', async () => {
    const id = employee();
    // A group the policy grants that the app does not have: the grant fails as an invalid request.
    const groups = await chat.scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}`);
    const engineering = groups.body.Resources[0];
    await chat.scim('DELETE', `/Groups/${engineering.id}`);
    try {
      await send(id, { sequence: 1 });
      const failed = await eventually('the failed outcome', async () => (await outcomes(id)).find((o) => o.sequence === 1));
      expect(failed.status).toBe('failed');
      expect(failed.steps.find((s: { outcome: string }) => s.outcome === 'failed')).toMatchObject({ app: 'chat', action: 'grant', entitlementId: 'engineering' });
      const labels = failed.compensations.map((c: { label: string }) => c.label);
      expect(failed.compensations.every((c: { ok: boolean }) => c.ok)).toBe(true);
      // Reverse order: the grants that were made are revoked before the accounts are deleted.
      expect(labels.findIndex((l: string) => l.startsWith('undo grant/'))).toBeLessThan(labels.findIndex((l: string) => l.startsWith('undo ensureAccount/')));
      expect(await user(chat, id)).toBeUndefined();
      expect(await user(code, id)).toBeUndefined();
      // The audit trail says so too: the failed step, each undo, and the failed change.
      const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: id, order: 'asc', limit: 1000 });
      const actions = audit.map((r) => r.action);
      expect(actions).toContain('step.failed');
      expect(actions[actions.length - 1]).toBe('change.failed');
      const undone = audit.filter((r) => r.action === 'step.completed' && r.reason.startsWith('undo: ')).map((r) => r.changes.map((c) => c.op)).flat();
      expect(undone).toEqual(expect.arrayContaining(['revoke', 'deleteAccount']));
    } finally {
      await chat.scim('POST', '/Groups', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'engineering' } });
    }
  });
});
