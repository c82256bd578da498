// The grant sweep on the real stack: a request grant whose person's workflow was terminated by an
// operator before the grant's end is never revoked by that workflow's timer; the sweep hands it to
// a new run of the person's workflow, which revokes it in the SCIM app and in the store, audited
// as system:grant-sweep; a second sweep finds nothing and changes nothing. The worker created the
// schedule that runs the sweep every few minutes, skipping a run that would overlap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { ensureGrantSweepSchedule, grantSweepScheduleId, triggerGrantSweep } from '../../runtime/grant-sweep-schedule.js';
import { listGrants, queryAudit } from '../../store/index.js';
import type { GrantSweepResult, grantSweep } from '../../workflows/grant-sweep.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { groupNamesOf } from '../helpers/groups.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { grantThroughRequest } from '../helpers/request-grant.js';
import { writeChatPolicy } from '../helpers/policy-yaml.js';
import { uniqueName } from '../helpers/unique.js';

const id = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const OWNER = id('O');

let p: Pipeline;
let catalog: EntitlementCatalog;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'], policyDir: writeChatPolicy({ name: 'grant-sweep', owner: OWNER, lifecycle: '{ moverGracePeriod: PT5S, leaverDeletionDelay: PT30S, personalDataRetention: P2Y, onLeave: keep }' }) });
  catalog = new EntitlementCatalog(p.worker.connectors);
}, 120_000);
afterAll(async () => {
  await p?.close();
});

const groupsOf = (employeeId: string) => groupNamesOf(p, catalog, 'chat', employeeId);

/** Runs one sweep now, as the schedule would, with no grace (the test's grant ends in seconds). */
const sweepNow = () =>
  p.ingress.client.workflow.execute<typeof grantSweep>('grantSweep', { workflowId: id('grant-sweep-test'), taskQueue: p.taskQueue, args: [{ graceMinutes: 0, maxPerRun: 500 }] });

describe('grant sweep', () => {
  it('the worker keeps a schedule that sweeps every 15 minutes and skips an overlapping run', async () => {
    const schedule = await p.ingress.client.schedule.getHandle(grantSweepScheduleId(p.taskQueue)).describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 15 * 60_000 }]);
    expect(schedule.policies.overlap).toBe('SKIP');
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'grantSweep', taskQueue: p.taskQueue, args: [{ graceMinutes: 2, maxPerRun: 500 }] });
  });

  it('a worker started with other settings updates the one schedule in place', async () => {
    const scheduleId = await ensureGrantSweepSchedule(p.ingress.client, p.taskQueue, { everyMinutes: 30, graceMinutes: 5, maxPerRun: 100 });
    expect(scheduleId).toBe(grantSweepScheduleId(p.taskQueue));
    const schedule = await p.ingress.client.schedule.getHandle(scheduleId).describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 30 * 60_000 }]);
    expect(schedule.action).toMatchObject({ args: [{ graceMinutes: 5, maxPerRun: 100 }] });
  });

  it("revokes a grant past its end whose person's workflow was terminated, once", async () => {
    const employeeId = id('G');
    await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId)) }]);
    const person = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
    await eventually(`${employeeId} provisioned`, async () => {
      const state = await person.query(getState).catch(() => undefined);
      return state?.status === 'provisioned' ? state : undefined;
    });
    // A request's grant, ending in a few seconds, asked for through the ITSM as people do.
    const ticketId = id('CHG');
    const grant = await grantThroughRequest(p, { employeeId, ticketId, app: 'chat', entitlementId: 'war-room', duration: 'PT6S' });
    const expiresAt = new Date(grant.expiresAt);
    await eventually('the grant in the app', async () => ((await groupsOf(employeeId)).includes('war-room') ? true : undefined));
    // An operator terminates the person's workflow: its timer will never revoke the grant.
    await person.terminate('operator: test of the grant sweep');
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() - Date.now()) + 500));
    expect(await groupsOf(employeeId)).toContain('war-room');
    expect((await listGrants(p.store.pool, employeeId)).map((g) => g.entitlementId)).toContain('war-room');

    const first: GrantSweepResult = await sweepNow();
    expect(first).toEqual({ found: 1, asked: 1, settled: 0 });
    await eventually('the revoke in the app', async () => (!(await groupsOf(employeeId)).includes('war-room') ? true : undefined));
    await eventually('the grant revoked in the store', async () => ((await listGrants(p.store.pool, employeeId)).some((g) => g.entitlementId === 'war-room') ? undefined : true));
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    // The person's workflow records its change's outcome after the revoke: the trail is read once it has settled.
    const auditOf = () => queryAudit(p.store.pool, p.store.keys.kek, { employeeId, limit: 200 });
    let seen = -1;
    const audit = await eventually('the audit trail to settle', async () => {
      const records = await auditOf();
      const settledNow = records.length === seen;
      seen = records.length;
      if (!settledNow) await new Promise((r) => setTimeout(r, 1_000));
      return settledNow ? records : undefined;
    });
    expect(audit.filter((r) => r.action === 'grant.sweep-revoke-requested').map((r) => r.actor)).toEqual(['system:grant-sweep']);

    // The next sweep finds nothing: the app and the audit stay as they are.
    const second = await sweepNow();
    expect(second).toEqual({ found: 0, asked: 0, settled: 0 });
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    const after = await auditOf();
    expect(after.length).toBe(audit.length);
  });

  it('`sweep grants --now` makes the schedule run a sweep at once, which finds nothing left to revoke', async () => {
    const scheduleId = await triggerGrantSweep(p.ingress.client, p.taskQueue);
    const schedule = p.ingress.client.schedule.getHandle(scheduleId);
    const started = await eventually('the triggered sweep', async () => (await schedule.describe()).info.recentActions.at(-1)?.action.workflow);
    expect(started.workflowId.startsWith(`${scheduleId}-`)).toBe(true);
    const result: GrantSweepResult = await p.ingress.client.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result();
    expect(result).toEqual({ found: 0, asked: 0, settled: 0 });
  });

  it('`sweep grants --now` without a worker that created the schedule says how to get one', async () => {
    await expect(triggerGrantSweep(p.ingress.client, 'no-such-queue')).rejects.toThrow(/no schedule grant-sweep\/no-such-queue .*start a worker of task queue no-such-queue/);
  });
});
