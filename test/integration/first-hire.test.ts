// The walking skeleton on the real stack: hr.lifecycle on Kafka → ingress → signalWithStart →
// identityLifecycle → SCIM apps → provisioning.outcomes.
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConverter } from '../../codec/data-converter.js';
import { listDeadLetters } from '../../ingress/dead-letter-queue.js';
import { identityWorkflowId } from '../../workflows/messages.js';
import { getState } from '../../workflows/messages.js';
import { appTaskQueue } from '../../workflows/task-queues.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code'] });
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('E').replaceAll('.', '');

async function usersWithExternalId(app: TestScimApp, employeeId: string): Promise<Array<{ id: string; userName: string }>> {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  expect(res.status).toBe(200);
  return res.body.Resources ?? [];
}

async function provisionedEverywhere(employeeId: string) {
  return eventually(`${employeeId} provisioned in every app`, async () => {
    const found = await Promise.all(p.apps.map((app) => usersWithExternalId(app, employeeId)));
    return found.every((users) => users.length === 1) ? found : undefined;
  });
}

async function outcomesFor(employeeId: string) {
  const messages = await p.read(p.cfg.kafka.topics.outcomes);
  return messages.filter((m) => m.key === employeeId).map((m) => JSON.parse(m.value));
}

const writesFor = async (app: TestScimApp, employeeId: string) => (await app.admin.writes()).filter((w) => w.externalId === employeeId);

describe('the first hire, end to end', () => {
  it('a hire creates exactly one account per app, visible through the app’s SCIM API, and emits an outcome', async () => {
    const id = employee();
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id)) }]);
    const found = await provisionedEverywhere(id);
    for (const users of found) expect(users[0]!.userName).toBe(`${id.toLowerCase()}@example.com`);
    const outcomes = await eventually('the outcome event', async () => {
      const list = await outcomesFor(id);
      return list.length > 0 ? list : undefined;
    });
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      employeeId: id,
      status: 'succeeded',
      eventType: 'hr.worker.hired',
      workflowId: identityWorkflowId(id),
      steps: expect.arrayContaining([
        expect.objectContaining({ app: 'chat', action: 'ensureAccount', outcome: 'created' }),
        expect.objectContaining({ app: 'code', action: 'ensureAccount', outcome: 'created' }),
      ]),
    });
  });

  it('a hire’s history names each connector call by what it does, on its application’s queue, with a summary of application, action and entitlement', async () => {
    const id = employee();
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id)) }]);
    await eventually('the outcome event', async () => ((await outcomesFor(id)).length > 0 ? true : undefined));
    const events = (await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).fetchHistory()).events ?? [];
    // Summaries are payloads in the history, encrypted like every other: the codec opens them.
    const [codec] = dataConverter(p.cfg.dataDir).payloadCodecs!;
    const summaryOf = async (payload: Parameters<typeof defaultPayloadConverter.fromPayload>[0] | null | undefined) =>
      payload ? defaultPayloadConverter.fromPayload<string>((await codec!.decode([payload]))[0]!) : undefined;
    const scheduled = await Promise.all(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map(async (e) => ({ type: e.activityTaskScheduledEventAttributes!.activityType!.name!, queue: e.activityTaskScheduledEventAttributes!.taskQueue!.name!, summary: await summaryOf(e.userMetadata?.summary) })),
    );
    const chat = appTaskQueue(p.taskQueue, 'chat');
    const code = appTaskQueue(p.taskQueue, 'code');
    expect(scheduled).toEqual(
      expect.arrayContaining([
        { type: 'readAccount', queue: chat, summary: 'chat: readAccount' },
        { type: 'readAccount', queue: code, summary: 'code: readAccount' },
        { type: 'ensureAccount', queue: chat, summary: 'chat: ensureAccount' },
        { type: 'ensureAccount', queue: code, summary: 'code: ensureAccount' },
        { type: 'grant', queue: chat, summary: 'chat: grant all-staff' },
        { type: 'grant', queue: code, summary: 'code: grant developers' },
      ]),
    );
    // The planning reads run before the plan, the steps after it; no step hides behind applyStep.
    const types = scheduled.map((s) => s.type);
    expect(types.lastIndexOf('readAccount')).toBeLessThan(types.indexOf('planChange'));
    expect(types.indexOf('planChange')).toBeLessThan(types.indexOf('ensureAccount'));
    expect(types).not.toContain('applyStep');
    // A summary names the application, the action and the entitlement, never the person.
    for (const s of scheduled) for (const personal of ['Ada', 'Lovelace', '@', id]) expect(s.summary ?? '').not.toContain(personal);
  });

  it('when a hired event is delivered three times, no second account is created and nothing is written again', async () => {
    const id = employee();
    const event = JSON.stringify(hrEvent(id));
    await p.produce([{ key: id, value: event }]);
    await provisionedEverywhere(id);
    const writesBefore = await Promise.all(p.apps.map((app) => writesFor(app, id)));
    expect(writesBefore.map((w) => w.length)).toEqual([1, 1]);

    await p.produce([{ key: id, value: event }, { key: id, value: event }]);
    // Wait until the ingress has handed both copies over, then for the workflow to settle.
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(id));
    await eventually('the duplicates handed to the workflow and settled', async () => {
      const history = await handle.fetchHistory();
      const signals = history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes).length ?? 0;
      const state = await handle.query(getState);
      return signals >= 3 && state.pendingEvents === 0 && state.status === 'provisioned' ? true : undefined;
    });
    for (const [i, app] of p.apps.entries()) {
      expect(await usersWithExternalId(app, id)).toHaveLength(1);
      expect(await writesFor(app, id)).toHaveLength(writesBefore[i]!.length);
    }
  });

  it('a malformed event lands in the DLQ with its reason, and the next good event is still provisioned', async () => {
    const bad = employee();
    const good = employee();
    const malformed = '{"specversion":"1.0","type":"hr.worker.hired", this is not json';
    const invalid = JSON.stringify({ ...hrEvent(bad), data: { employeeId: bad } });
    await p.produce([
      { key: bad, value: malformed },
      { key: bad, value: invalid },
      { key: good, value: JSON.stringify(hrEvent(good)) },
    ]);
    await provisionedEverywhere(good);
    const letters = await eventually('two dead letters', async () => {
      const list = (await listDeadLetters(p.cfg, p.cfg.kafka.topics.hrLifecycle)).filter((l) => l.key === bad);
      return list.length >= 2 ? list : undefined;
    });
    expect(letters.map((l) => l.value)).toEqual([malformed, invalid]);
    expect(letters[0]!.reasonCode).toBe('invalid-json');
    expect(letters[1]!.reasonCode).toBe('invalid-event');
    expect(letters[1]!.reason).toMatch(/data\.(sequence|givenName|email)/);
    // On the topic itself the bytes are sealed: bad input can carry personal data.
    const raw = (await p.read(`${p.cfg.kafka.topics.hrLifecycle}.dlq`)).filter((m) => m.key === bad);
    for (const m of raw) expect(m.value).not.toContain('hr.worker.hired');
    for (const app of p.apps) expect(await usersWithExternalId(app, bad)).toHaveLength(0);
  });

  it('a stale snapshot (lower sequence) is recorded and ignored', async () => {
    const id = employee();
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { sequence: 5, data: { givenName: 'Newest' } })) }]);
    await provisionedEverywhere(id);
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { sequence: 3, data: { givenName: 'Older' } })) }]);
    const ignored = await eventually('the stale outcome', async () => (await outcomesFor(id)).find((o) => o.status === 'ignored'));
    expect(ignored.sequence).toBe(3);
    expect(ignored.reason).toMatch(/not newer/);
    const [users] = await Promise.all([usersWithExternalId(p.apps[0]!, id)]);
    const full = await p.apps[0]!.scim('GET', `/Users/${users![0]!.id}`);
    expect(full.body.name.givenName).toBe('Newest');
  });

  it('when the worker is stopped and restarted mid-stream, every hire is still provisioned exactly once', async () => {
    const ids = Array.from({ length: 20 }, employee);
    await p.produce(ids.slice(0, 10).map((id) => ({ key: id, value: JSON.stringify(hrEvent(id)) })));
    await provisionedEverywhere(ids[0]!);
    await p.worker.shutdown();
    await p.produce(ids.slice(10).map((id) => ({ key: id, value: JSON.stringify(hrEvent(id)) })));
    await new Promise((r) => setTimeout(r, 1000));
    await p.startWorker();
    for (const id of ids) await provisionedEverywhere(id);
    for (const app of p.apps) {
      for (const id of ids) expect(await writesFor(app, id)).toHaveLength(1);
    }
  });
});
