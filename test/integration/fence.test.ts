// The mass-change fence on the real stack: a feed that terminates 3× the (test) threshold within the
// window disables at most the threshold; the rest wait, listed; reject leaves them as they were;
// release (by two operators) completes them; a worker restart in between changes nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFenceState } from '../../cli/commands/fence.js';
import { decideFenceBatch, fenceState } from '../../clients/fence.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

const THRESHOLD = 3;

/** The test policy with a fence of THRESHOLD disables per application (chat and the LDAP directory: twice that per feed) in 10 minutes. */
function fencedPolicy(): string {
  const dir = writeTestPolicy({ leaverDeletionDelay: 'PT1H' });
  const file = path.join(dir, 'lifecycle.yaml');
  const text = readFileSync(file, 'utf8').replace(/\nfencing:[\s\S]*$/, '\n');
  writeFileSync(
    file,
    `${text}fencing:\n  window: PT10M\n  releasesRequired: 2\n  perSource:\n    default:\n      disableAccount: { absolute: ${2 * THRESHOLD} }\n  perApplication:\n    default:\n      disableAccount: { absolute: ${THRESHOLD} }\n`,
  );
  return dir;
}

let p: Pipeline;
let chat: TestScimApp;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'], policyDir: fencedPolicy() });
  [chat] = p.apps as [TestScimApp];
});
afterAll(async () => {
  await p?.close();
});

async function user(employeeId: string): Promise<{ id: string; active: boolean } | undefined> {
  const res = await chat.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
  return (res.body.Resources ?? [])[0];
}

/** Each person's outcome of one sequence, once all have one. */
async function outcomesOf(ids: string[], sequence: number) {
  return eventually(`outcomes of sequence ${sequence}`, async () => {
    const all = (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => JSON.parse(m.value));
    const found = ids.map((id) => all.find((o) => o.employeeId === id && o.sequence === sequence));
    return found.every(Boolean) ? found : undefined;
  });
}

const send = (ids: string[], options: (id: string) => Parameters<typeof hrEvent>[1]) =>
  p.produce(ids.map((id) => ({ key: id, value: JSON.stringify(hrEvent(id, options(id))) })));

const state = () => fenceState(p.store, p.taskQueue);
const decide = async (kind: 'release' | 'reject', batchId: string, operator: string) =>
  (await decideFenceBatch({ store: p.store, client: p.ingress.client }, { taskQueue: p.taskQueue, kind, batchId, operator })).batch;
const active = async (ids: string[]) => (await Promise.all(ids.map(async (id) => ((await user(id))?.active ? id : undefined)))).filter((x): x is string => x !== undefined);

describe('the mass-change fence', () => {
  it('holds terminations past the threshold; reject changes nothing for them, release (two operators) completes them, across a restart', async () => {
    const ids = Array.from({ length: 3 * THRESHOLD }, () => uniqueName('F').replaceAll('.', ''));
    await send(ids, () => ({ sequence: 1 }));
    await eventually('every hire provisioned', async () => {
      const states = await Promise.all(ids.map((id) => p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState)));
      return states.every((st) => st.lastAppliedSequence === 1 && st.status === 'provisioned') ? true : undefined;
    }, 90_000);

    // 3× the threshold of terminations at once.
    await send(ids, () => ({ type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } }));
    let seen = '';
    const first = await eventually('the rest held', async () => {
      const s = await state();
      seen = JSON.stringify(s);
      return s && s.held.length === ids.length - THRESHOLD ? s : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; fence state: ${seen}`);
    });
    const held = first.held.map((h) => h.employeeId).sort();
    const batchId = first.held[0]!.batchId;
    expect(new Set(first.held.map((h) => h.batchId))).toEqual(new Set([batchId]));
    // Listed with who and what they would change.
    expect(first.held[0]!.steps).toEqual(expect.arrayContaining([{ key: `disableAccount/chat`, app: 'chat', action: 'disableAccount' }]));
    expect(formatFenceState(first)).toContain(`batch ${batchId} OPEN`);
    // The first THRESHOLD were disabled, the held ones were not.
    let still: string[] = [];
    await eventually('the allowed ones disabled', async () => {
      still = await active(ids);
      return still.length === held.length ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; active ${JSON.stringify(still)}, held ${JSON.stringify(held)}, all ${JSON.stringify(ids)}`);
    });
    expect((await active(ids)).sort()).toEqual(held);
    // Visible in the Temporal UI: the held workflows' status, and in getState.
    const desc = await p.ingress.client.workflow.getHandle(identityWorkflowId(held[0]!)).describe();
    expect(desc.searchAttributes.ProvisioningStatus).toEqual(['fence-held']);
    expect((await p.ingress.client.workflow.getHandle(identityWorkflowId(held[0]!)).query(getState)).fenceHold?.batchId).toBe(batchId);

    // Reject: nothing changes for the held people; the outcome says so.
    const rejected = await decide('reject', batchId, 'carol');
    expect(rejected.status).toBe('rejected');
    for (const o of await outcomesOf(held, 2)) {
      expect(o.status).toBe('action-required');
      expect(o.steps.filter((s: { outcome: string }) => s.outcome === 'rejected').map((s: { action: string }) => s.action)).toContain('disableAccount');
      expect(o.steps.every((s: { outcome: string }) => s.outcome === 'rejected')).toBe(true);
    }
    expect((await active(ids)).sort()).toEqual(held);
    // A rejected person's workflow says so (state and search attribute) until a newer snapshot.
    const rejectedHandle = p.ingress.client.workflow.getHandle(identityWorkflowId(held[0]!));
    await eventually('the rejected person says fence-rejected', async () => ((await rejectedHandle.query(getState)).status === 'fence-rejected' ? true : undefined));
    await eventually('the search attribute says fence-rejected', async () => ((await rejectedHandle.describe()).searchAttributes.ProvisioningStatus?.[0] === 'fence-rejected' ? true : undefined));
    const terminatedWrites = (await chat.admin.writes()).filter((w) => held.includes(w.externalId ?? '') && w.operation !== 'create');
    expect(terminatedWrites).toEqual([]);

    // The feed sends them again: the window is still full, so they are held in a new batch.
    await send(held, () => ({ type: 'hr.worker.terminated', sequence: 3, data: { status: 'terminated' } }));
    const second = await eventually('held again', async () => {
      const s = await state();
      return s && s.held.length === held.length ? s : undefined;
    });
    const batch2 = second.held[0]!.batchId;
    expect(batch2).not.toBe(batchId);

    // A restart in between changes nothing.
    await p.worker.shutdown();
    await p.startWorker();
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await state())!.held.map((h) => h.employeeId).sort()).toEqual(held);
    expect((await active(ids)).sort()).toEqual(held);

    // Release needs a second person; the same operator twice is refused.
    const half = await decide('release', batch2, 'alice');
    expect(half).toMatchObject({ status: 'open', releasedBy: ['alice'] });
    await expect(decide('release', batch2, 'alice')).rejects.toThrow(/already released/);
    expect((await active(ids)).sort()).toEqual(held);
    const released = await decide('release', batch2, 'bob');
    expect(released).toMatchObject({ status: 'released', decidedBy: ['alice', 'bob'] });
    await eventually('the released ones disabled', async () => ((await active(ids)).length === 0 ? true : undefined));
    for (const o of await outcomesOf(held, 3)) {
      expect(o.status).toBe('succeeded');
    }
    expect((await state())!.held).toEqual([]);
  });
});
