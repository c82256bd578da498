// Leavers first (docs/architecture.md#leavers-first) on the real stack: chat's own task queue is slowed to half an
// activity per second and a crowd of joiners queues its account creations there; a termination
// that arrives behind them has its disable and revokes run on chat's urgent queue, so the leaver is
// disabled while most joiners are still waiting for their accounts. No timing thresholds: the test
// asserts where the steps ran and the order of the writes in the app.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_ACTIVITY_TYPES } from '../../workflows/connector-activities.js';
import { appTaskQueue, urgentAppTaskQueue } from '../../workflows/task-queues.js';
import { identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

/** Activities per second on chat's own queue (server-enforced): the joiners' backlog drains slowly. */
const RATE = 0.5;
const JOINERS = 24;

let p: Pipeline;
let chat: TestScimApp;
beforeAll(async () => {
  // The rate is configuration: a config file read by this file's pipeline only.
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'leavers-first-')), 'provisioner.yaml');
  writeFileSync(file, `scimConnector:\n  maxActivitiesPerSecond: ${RATE}\n`);
  const before = process.env.PROVISIONER_CONFIG;
  process.env.PROVISIONER_CONFIG = file;
  try {
    p = await startPipeline({ appNames: ['chat'], policyDir: writeTestPolicy({ leaverDeletionDelay: 'PT1H' }) });
  } finally {
    if (before === undefined) delete process.env.PROVISIONER_CONFIG;
    else process.env.PROVISIONER_CONFIG = before;
  }
  [chat] = p.apps as [TestScimApp];
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('F').replaceAll('.', '');
const send = (ids: string[], options: (id: string) => Parameters<typeof hrEvent>[1]) =>
  p.produce(ids.map((id) => ({ key: id, value: JSON.stringify(hrEvent(id, options(id))) })));

async function outcome(id: string, sequence: number, timeoutMs?: number) {
  return eventually(
    `the outcome of ${id} sequence ${sequence}`,
    async () => (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => JSON.parse(m.value)).find((o) => o.employeeId === id && o.sequence === sequence),
    timeoutMs,
  );
}

/** The connector activities (the steps and the planning reads) a workflow scheduled after its last hrEventReceived signal: their task queues. */
async function connectorQueuesAfterLastSignal(id: string): Promise<string[]> {
  const events = (await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).fetchHistory()).events ?? [];
  const last = events.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).lastIndexOf('hrEventReceived');
  return events
    .slice(last + 1)
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => [...STEP_ACTIVITY_TYPES, 'readAccount'].includes(a?.activityType?.name ?? ''))
    .map((a) => a!.taskQueue!.name!);
}

describe('leavers first', () => {
  it('a termination behind a backlog of joiner account creations on the same app is disabled before the backlog drains', async () => {
    const leaver = employee();
    await send([leaver], () => ({ sequence: 1 }));
    expect((await outcome(leaver, 1)).status).toBe('succeeded');
    const leaverAccount = (await chat.admin.writes()).find((w) => w.resourceType === 'User' && w.externalId === leaver && w.operation === 'create');
    expect(leaverAccount).toBeDefined();
    expect(await connectorQueuesAfterLastSignal(leaver)).toContain(appTaskQueue(p.taskQueue, 'chat'));

    // The crowd: every joiner's ensureAccount waits on chat's queue at RATE per second.
    const joiners = Array.from({ length: JOINERS }, employee);
    await send(joiners, () => ({ sequence: 1 }));
    const joinerSet = new Set(joiners);
    const created = async () => (await chat.admin.writes()).filter((w) => w.resourceType === 'User' && w.operation === 'create' && joinerSet.has(w.externalId ?? ''));
    // Their tasks are queued once the first of them is being served.
    await eventually('the first joiner account', async () => ((await created()).length > 0 ? true : undefined), 90_000);

    await send([leaver], () => ({ type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } }));
    const disabled = await eventually(
      'the leaver disabled',
      async () => (await chat.admin.writes()).find((w) => w.resourceType === 'User' && w.id === leaverAccount!.id && w.operation !== 'create' && w.changed),
      90_000,
    );
    const joinerAccountsBefore = (await created()).filter((w) => w.seq < disabled.seq).length;
    // In one queue, the disable would have waited for every account creation queued before it.
    expect(joinerAccountsBefore).toBeLessThan(JOINERS / 2);
    const user = await chat.scim('GET', `/Users/${leaverAccount!.id}`);
    expect(user.body.active).toBe(false);

    // The termination's connector activities (its planning reads, the disable, then the revokes) all ran on the urgent queue.
    const done = await outcome(leaver, 2, 90_000);
    expect(done.status).toBe('succeeded');
    expect(done.steps.filter((s: { app: string }) => s.app === 'chat').map((s: { action: string }) => s.action)).toEqual(expect.arrayContaining(['disableAccount', 'revoke']));
    const queues = await connectorQueuesAfterLastSignal(leaver);
    const chatQueues = queues.filter((q) => q.startsWith(appTaskQueue(p.taskQueue, 'chat')));
    expect(chatQueues.length).toBeGreaterThan(1);
    expect(new Set(chatQueues)).toEqual(new Set([urgentAppTaskQueue(p.taskQueue, 'chat')]));
  });
});
