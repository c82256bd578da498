// Dated changes and least privilege on hire, end to end on the real stack with compressed time:
// a hire dated ahead exists disabled in the SCIM app until its start (a date-time start seconds
// ahead, a prehire window of seconds), a termination dated ahead disables at its time, a rescinded
// one never does, a retro-dated one acts at once, and a restricted application's account appears
// only when its first grant is approved.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve } from '../../workflows/approval-messages.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

/** The prehire window: accounts are made this long before the start. */
const PREHIRE_MS = 20_000;

let p: Pipeline;
beforeAll(async () => {
  const dir = writeTestPolicy({ leaverDeletionDelay: 'PT5M' });
  const file = path.join(dir, 'lifecycle.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(onLeave: \S+\n)/, `$1  prehireDays: ${PREHIRE_MS / 86_400_000}\n`));
  // The example policy gives chat its own two-week window (the demo's): here every app uses the lifecycle's.
  const chat = path.join(dir, 'applications', 'chat.yaml');
  writeFileSync(chat, readFileSync(chat, 'utf8').replace(/^\s*prehireDays: .*\n/m, ''));
  p = await startPipeline({ appNames: ['chat', 'crm'], policyDir: dir });
});
afterAll(async () => {
  await p?.close();
});

const call = () => ({ idempotencyKey: 'test', correlationId: 'test', signal: AbortSignal.timeout(30_000) });
const employee = () => uniqueName('D').replaceAll('.', '');
const iso = (ms: number) => new Date(ms).toISOString();
const accountIn = (app: string, employeeId: string) => p.worker.connectors.get(app)!.getAccount({ employeeId }, call());
const state = (employeeId: string) => p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState).catch(() => undefined);
const settled = (employeeId: string, sequence: number, ok: (s: IdentityState) => boolean = () => true) =>
  eventually(`${employeeId} settled at sequence ${sequence}`, async () => {
    const s = await state(employeeId);
    return s && s.lastAppliedSequence >= sequence && s.pendingEvents === 0 && s.status !== 'provisioning' && s.status !== 'idle' && ok(s) ? s : undefined;
  });
async function send(employeeId: string, options: Parameters<typeof hrEvent>[1]) {
  await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId, options)) }]);
}

/** A person hired now, once their chat account exists. */
async function hired(): Promise<string> {
  const id = employee();
  await send(id, {});
  await settled(id, 1, (s) => s.accounts.chat !== undefined);
  return id;
}
const terminate = (id: string, effectiveAt: number) => send(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated', effectiveAt: iso(effectiveAt) } });

describe.concurrent('dated changes on the real stack', () => {
  it('a hire dated ahead: nothing before its window, then an account that is disabled until the start, then enabled', async () => {
    const id = employee();
    const start = Date.now() + 40_000;
    await send(id, { data: { startDate: iso(start) } });
    const waiting = await settled(id, 1, (s) => s.wake !== undefined);
    expect(Date.parse(waiting.wake!.at)).toBe(start - PREHIRE_MS);
    expect(waiting.wake!.reason).toContain('prehire');
    expect(await accountIn('chat', id)).toBeFalsy();

    const made = await eventually('the account made in the prehire window', async () => (await accountIn('chat', id)) ?? undefined);
    expect(Date.now()).toBeLessThan(start);
    expect(made.active).toBe(false);
    const before = await settled(id, 1, (s) => s.scheduled.some((x) => x.step.action === 'enableAccount'));
    expect(before.scheduled.find((x) => x.step.app === 'chat')).toMatchObject({ notBefore: iso(start), step: { action: 'enableAccount', reason: `prehire: enabled at the start ${iso(start)}` } });

    const enabled = await eventually('the account enabled at the start', async () => ((await accountIn('chat', id))?.active ? true : undefined));
    expect(enabled).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(start);
  });

  it('a termination dated ahead changes nothing until its time, then disables', async () => {
    const id = await hired();
    const at = Date.now() + 15_000;
    await terminate(id, at);
    const noticed = await settled(id, 2);
    expect(noticed.status).toBe('provisioned');
    const chat = noticed.scheduled.filter((s) => s.step.app === 'chat');
    expect(chat.filter((s) => s.step.action !== 'deleteAccount').map((s) => s.notBefore)).toEqual(chat.filter((s) => s.step.action !== 'deleteAccount').map(() => iso(at)));
    expect(chat.map((s) => s.step.action)).toEqual(expect.arrayContaining(['disableAccount', 'revoke', 'deleteAccount']));
    expect(chat.find((s) => s.step.action === 'deleteAccount')!.notBefore).toBe(iso(at + 300_000));
    expect((await accountIn('chat', id))?.active).toBe(true);

    await eventually('the disable at effectiveAt', async () => ((await accountIn('chat', id))?.active === false ? true : undefined));
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect((await settled(id, 2, (s) => s.status === 'deprovisioned')).scheduled.filter((s) => s.step.app === 'chat').map((s) => s.step.action)).toEqual(['deleteAccount']);
  });

  it('a termination dated ahead and rescinded before its time never disables', async () => {
    const id = await hired();
    const at = Date.now() + 12_000;
    await terminate(id, at);
    await settled(id, 2, (s) => s.scheduled.length > 0);
    await send(id, { type: 'hr.worker.updated', sequence: 3, data: { status: 'active' } });
    const rescinded = await settled(id, 3);
    expect(rescinded.scheduled).toEqual([]);
    await new Promise((r) => setTimeout(r, at + 5_000 - Date.now()));
    expect((await accountIn('chat', id))?.active).toBe(true);
    expect((await state(id))?.status).toBe('provisioned');
  });

  it('a retro-dated termination disables at once', async () => {
    const id = await hired();
    const effectiveAt = Date.now() - 60_000;
    await terminate(id, effectiveAt);
    const left = await settled(id, 2);
    expect(left.status).toBe('deprovisioned');
    expect((await accountIn('chat', id))?.active).toBe(false);
    // Deletion counts from effectiveAt: a minute of the five-minute delay is already gone.
    expect(left.scheduled.find((s) => s.step.app === 'chat' && s.step.action === 'deleteAccount')?.notBefore).toBe(iso(effectiveAt + 300_000));
  });

  it('a restricted application whose every grant needs approval: its account appears only when the first grant is approved', async () => {
    const id = employee();
    const manager = employee();
    await send(id, { data: { department: 'Sales', title: 'Account Executive', region: 'eu', managerId: manager } });
    const hired = await settled(id, 1, (s) => s.awaitingApproval.some((a) => a.step.app === 'crm'));
    expect(hired.accountsAwaitingApproval).toEqual([{ app: 'crm', reason: expect.stringContaining('first approved grant') }]);
    expect(hired.accounts.chat).toBeDefined();
    expect(await accountIn('crm', id)).toBeFalsy();

    const gate = hired.awaitingApproval.find((a) => a.step.app === 'crm')!;
    await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).executeUpdate(approve, { args: [{ approvalId: gate.approvalIds![0]!, approverId: manager, channel: 'api' }] });
    const crm = await eventually('the crm account with its approved grant', async () => {
      const a = await accountIn('crm', id);
      return a && (a.entitlements?.length ?? 0) > 0 ? a : undefined;
    });
    expect(crm.active).toBe(true);
    expect((await settled(id, 1, (s) => s.accounts.crm !== undefined)).accountsAwaitingApproval).toBeUndefined();
  });
});
