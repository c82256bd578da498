// Attribute sync end to end on the real stack (issue 16 item 1): a name and e-mail change in an
// `hr.worker.updated` snapshot reaches every SCIM app and the directory through updateAccount steps,
// and nothing else about the accounts changes; a rename goes where the application allows it and is
// action-required where it does not; a later step that fails rolls the update back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../connectors/contract.js';
import { outcomeSchema, type Outcome } from '../../schemas/outcomes.js';
import { queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
beforeAll(async () => {
  // The demo policy: chat maps title and department and allows renames; code keeps the default map;
  // the directory maps title and departmentNumber and leaves uid renames to IT.
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy() });
});
afterAll(async () => {
  await p?.close();
});

const call = () => ({ idempotencyKey: 'test', correlationId: 'test', signal: AbortSignal.timeout(30_000) });
const employee = () => uniqueName('A').replaceAll('.', '');
const APPS = ['chat', 'code', 'directory'];

async function accounts(employeeId: string): Promise<Record<string, Account>> {
  const out: Record<string, Account> = {};
  for (const app of APPS) {
    const account = await p.worker.connectors.get(app)!.getAccount({ employeeId }, call());
    if (account) out[app] = account;
  }
  return out;
}

const send = (id: string, sequence: number, data: Record<string, unknown> = {}, type: 'hr.worker.hired' | 'hr.worker.updated' = 'hr.worker.updated') =>
  p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { type, sequence, data })) }]);

async function outcome(employeeId: string, sequence: number): Promise<Outcome> {
  return eventually(`the outcome of ${employeeId} at sequence ${sequence}`, async () =>
    (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => outcomeSchema.parse(JSON.parse(m.value))).find((o) => o.employeeId === employeeId && o.sequence === sequence),
  );
}

async function hired(id: string): Promise<Record<string, Account>> {
  await send(id, 1, {}, 'hr.worker.hired');
  expect((await outcome(id, 1)).status).toBe('succeeded');
  const before = await accounts(id);
  expect(Object.keys(before).sort()).toEqual(APPS);
  return before;
}

describe('attribute sync', () => {
  it('a new family name and e-mail reach every SCIM app and the directory, and nothing else changes', async () => {
    const id = employee();
    const before = await hired(id);
    const oldEmail = `${id.toLowerCase()}@example.com`;
    const newEmail = `${id.toLowerCase()}.king@example.com`;
    expect(before.chat!.attributes).toMatchObject({ userName: oldEmail, title: 'Engineer', department: 'Engineering' });
    expect(before.directory!.attributes).toMatchObject({ uid: oldEmail, title: 'Engineer', departmentNumber: 'Engineering' });

    await send(id, 2, { familyName: 'King', email: newEmail });
    const done = await outcome(id, 2);
    const after = await accounts(id);

    // chat allows renames: the userName follows the e-mail.
    expect(after.chat!.attributes).toEqual({ ...before.chat!.attributes, userName: newEmail, 'name.familyName': 'King', displayName: 'Ada King', emails: newEmail });
    // code keeps the default map (no rename): the name and e-mail change, the userName waits for a human.
    expect(after.code!.attributes).toEqual({ ...before.code!.attributes, 'name.familyName': 'King', displayName: 'Ada King', emails: newEmail });
    // The directory: sn, cn, displayName and mail; the uid (the login) stays until IT renames it.
    expect(after.directory!.attributes).toEqual({ ...before.directory!.attributes, sn: 'King', cn: 'Ada King', displayName: 'Ada King', mail: newEmail });
    for (const app of APPS) {
      expect({ active: after[app]!.active, entitlements: [...(after[app]!.entitlements ?? [])].sort(), externalId: after[app]!.externalId }).toEqual({
        active: before[app]!.active,
        entitlements: [...(before[app]!.entitlements ?? [])].sort(),
        externalId: id,
      });
    }

    // Only updates were planned; each rename that is not allowed is action-required, nothing called.
    expect(done.steps.every((s) => s.action === 'updateAccount')).toBe(true);
    const byApp = (app: string) => done.steps.filter((s) => s.app === app).map((s) => s.outcome).sort();
    expect(byApp('chat')).toEqual(['applied']);
    expect(byApp('code')).toEqual(['action-required', 'applied']);
    expect(byApp('directory')).toEqual(['action-required', 'applied']);
    expect(done.status).toBe('action-required');

    // A repeat of the snapshot plans nothing more than the renames a human must do.
    await send(id, 3, { familyName: 'King', email: newEmail });
    const repeat = await outcome(id, 3);
    expect(repeat.steps.map((s) => `${s.app} ${s.outcome}`).sort()).toEqual(['code action-required', 'directory action-required']);
    expect(await accounts(id)).toEqual(after);

    // The audit names the attributes changed, never their values.
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: id, order: 'asc', limit: 1000 });
    const updates = audit.filter((r) => r.action === 'step.completed' && r.changes.some((c) => c.op === 'updateAccount'));
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.flatMap((r) => r.changes.flatMap((c) => c.fields ?? []))).toEqual(expect.arrayContaining(['name.familyName', 'emails', 'sn', 'mail']));
    for (const r of updates) expect(JSON.stringify([r.reason, r.changes.map((c) => c.fields)])).not.toMatch(/King|\.king@/);
  });

  it('when a later step of the change fails for good, the update is rolled back', async () => {
    const id = employee();
    const before = await hired(id);
    // A move to Research brings chat:research; the app no longer has the group, so that grant fails.
    const chat = p.apps[0]!;
    const found = await chat.scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "research"')}`);
    const research = found.body.Resources[0];
    await chat.scim('DELETE', `/Groups/${research.id}`);
    try {
      await send(id, 2, { familyName: 'Byron', department: 'Research', title: 'Research Scientist' });
      const failed = await outcome(id, 2);
      expect(failed.status).toBe('failed');
      expect(failed.steps.find((s) => s.outcome === 'failed')).toMatchObject({ app: 'chat', action: 'grant', entitlementId: 'research' });
      expect(failed.steps.filter((s) => s.action === 'updateAccount' && s.outcome === 'applied').map((s) => s.app).sort()).toEqual(APPS);
      const undone = (failed.compensations ?? []).filter((c) => c.label.startsWith('undo updateAccount/'));
      expect(undone.map((c) => c.label).sort()).toEqual(APPS.map((app) => `undo updateAccount/${app}`));
      expect(undone.every((c) => c.ok)).toBe(true);
      const after = await accounts(id);
      for (const app of APPS) expect(after[app]!.attributes).toEqual(before[app]!.attributes);
      const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
      expect(state.lastAppliedSequence).toBeGreaterThanOrEqual(1);
    } finally {
      await chat.scim('POST', '/Groups', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'research' } });
    }
  });
  it("after a leaver's disable moves the directory entry, getState names it where it lives now", async () => {
    const id = employee();
    const before = await hired(id);
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } })) }]);
    expect((await outcome(id, 2)).status).toBe('succeeded');
    const after = await accounts(id);
    // The directory disables by moving the entry to its disabled OU: a new DN.
    expect(after.directory!.active).toBe(false);
    expect(after.directory!.id).not.toBe(before.directory!.id);
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    expect(state.status).toBe('deprovisioned');
    expect(state.accounts.directory!.accountId).toBe(after.directory!.id);
  });
});
