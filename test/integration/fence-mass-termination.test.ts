// A mass termination held by the fence through the real identity workflows (Kafka, Temporal,
// PostgreSQL, the chat SCIM app and the LDAP directory): the feed's source may disable 10 people
// in the window, the other 20 are held (the store's listing, each person's getState and search
// attribute say so); one held person is rejected (fence-rejected, still active) and two operators'
// release lets the rest through, as `provisioner fence release|reject` does (clients/fence.ts).
// One person released in the store with no signal sent (a lost `fenceDecision`) moves on too: the
// held workflow reads its decision from the store (every second at first, here).
//
// What the limit counts: steps, not people. A termination disables each account the person holds
// (chat and the directory here: two steps), so 10 people are 20 disables of the source's budget,
// and the source is the CloudEvent's (`urn:hris:test`): a policy naming another source leaves the
// feed on the shared `default` budget.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideFenceBatch, fenceState } from '../../clients/fence.js';
import { loadConfig } from '../../schemas/config.js';
import { decideFence } from '../../store/index.js';
import { fenceWorkflowId } from '../../workflows/fence-messages.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

const PEOPLE = 30;
const ALLOWED = 10;
/** Accounts a hired test person holds, each disabled by the termination: chat and the directory. */
const DISABLES_PER_PERSON = 2;
const SOURCE = 'urn:hris:test';

/** The test policy with a fence of ALLOWED people's disables per window for the feed's source; no application limit. */
function fencedPolicy(): string {
  const dir = writeTestPolicy({ leaverDeletionDelay: 'PT1H' });
  const file = path.join(dir, 'lifecycle.yaml');
  const text = readFileSync(file, 'utf8').replace(/\nfencing:[\s\S]*?\n(?=\S)/, '\n');
  writeFileSync(
    file,
    `${text}\nfencing:\n  window: PT10M\n  releasesRequired: 2\n  population: 1000\n  perSource:\n    "${SOURCE}":\n      disableAccount: { absolute: ${ALLOWED * DISABLES_PER_PERSON} }\n  perApplication:\n    default:\n      disableAccount: { absolute: 100000 }\n`,
  );
  return dir;
}

let p: Pipeline;
let chat: TestScimApp;
beforeAll(async () => {
  const cfg = loadConfig();
  p = await startPipeline({ appNames: ['chat'], policyDir: fencedPolicy(), config: { ...cfg, safety: { ...cfg.safety, fenceRecheckSeconds: 1 } } });
  [chat] = p.apps as [TestScimApp];
});
afterAll(async () => {
  await p?.close();
});

const send = (ids: string[], options: (id: string) => Parameters<typeof hrEvent>[1]) =>
  p.produce(ids.map((id) => ({ key: id, value: JSON.stringify(hrEvent(id, options(id))) })));

/** Employee ids (of `ids`) whose chat account is active, from one listing of the app. */
async function activeIds(ids: readonly string[]): Promise<string[]> {
  const mine = new Set(ids);
  const active: string[] = [];
  for (let start = 1; ; ) {
    const res = await chat.scim('GET', `/Users?startIndex=${start}&count=200`);
    const page = (res.body.Resources ?? []) as Array<{ externalId?: string; active?: boolean }>;
    for (const u of page) if (u.externalId && mine.has(u.externalId) && u.active !== false) active.push(u.externalId);
    start += page.length;
    if (page.length === 0 || start > Number(res.body.totalResults ?? 0)) break;
  }
  return active.sort();
}

const handle = (id: string) => p.ingress.client.workflow.getHandle(identityWorkflowId(id));
const decide = (kind: 'release' | 'reject', batchId: string, operator: string, employeeId?: string) =>
  decideFenceBatch({ store: p.store, client: p.ingress.client }, { taskQueue: p.taskQueue, kind, batchId, operator, ...(employeeId ? { person: { employeeId } } : {}) });

describe('a mass termination through the real identity workflows', () => {
  it(`${PEOPLE} terminations against a source fence of ${ALLOWED} people: ${ALLOWED} disabled, the rest held until two operators release them (one in the store alone, no signal); one rejected stays`, async () => {
    const ids = Array.from({ length: PEOPLE }, () => uniqueName('FM').replaceAll('.', '')).sort();
    await send(ids, () => ({ sequence: 1 }));
    await eventually('every hire provisioned', async () => {
      const states = await Promise.all(ids.map((id) => handle(id).query(getState)));
      return states.every((st) => st.lastAppliedSequence === 1 && st.status === 'provisioned') ? true : undefined;
    }, 120_000);
    expect(await activeIds(ids)).toEqual(ids);

    await send(ids, () => ({ type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } }));
    let seen = '';
    const listed = await eventually('the rest held', async () => {
      const s = await fenceState(p.store, p.taskQueue);
      seen = s ? `${s.held.length} held, in window ${JSON.stringify(s.inWindow)}` : 'no fence yet';
      return s && s.held.length === PEOPLE - ALLOWED ? s : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen}`);
    });
    const held = listed.held.map((h) => h.employeeId).sort();
    const batchId = listed.held[0]!.batchId;
    expect(new Set(listed.held.map((h) => h.batchId))).toEqual(new Set([batchId]));
    expect(new Set(listed.held.map((h) => h.source))).toEqual(new Set([SOURCE]));
    expect(listed.inWindow[`source|${SOURCE}|disableAccount`]).toBe(ALLOWED * DISABLES_PER_PERSON);
    // Each ask holds all of the person's fenced steps: the disables and the revokes of their groups.
    expect(listed.held[0]!.steps.filter((s) => s.action === 'disableAccount').map((s) => s.app).sort()).toEqual(['chat', 'directory']);

    // One person released by two operators in the store only, at once (the re-check backs off from 1 s, doubling:
    // decided early, it is read within seconds): no signal tells the workflow, its re-check finds it.
    const [rejected, lost, ...released] = held as [string, string, ...string[]];
    for (const operator of ['alice', 'bob']) await decideFence(p.store, { fenceId: fenceWorkflowId(p.taskQueue), kind: 'release', batchId, operator, person: { employeeId: lost } });
    // The first ALLOWED are disabled; the held ones are active, and their workflows say fence-held.
    await eventually('the allowed ones disabled', async () => ((await activeIds(ids)).filter((id) => id !== lost).length === held.length - 1 ? true : undefined), 30_000);
    expect((await activeIds(ids)).filter((id) => id !== lost)).toEqual(held.filter((id) => id !== lost));
    await eventually('every held workflow says fence-held', async () => {
      const views = await Promise.all(held.filter((id) => id !== lost).map(async (id) => ({ state: await handle(id).query(getState), attrs: (await handle(id).describe()).searchAttributes })));
      return views.every((v) => v.state.fenceHold?.batchId === batchId && v.attrs.ProvisioningStatus?.[0] === 'fence-held') ? true : undefined;
    }, 30_000);

    await eventually('the person released without a signal deprovisioned', async () => {
      const st = await handle(lost).query(getState);
      return st.status === 'deprovisioned' && st.fenceHold === undefined ? true : undefined;
    }, 30_000);
    expect(await activeIds(ids)).toEqual(held.filter((id) => id !== lost));

    // One person rejected: their workflow says fence-rejected, their account stays active.
    const r = await decide('reject', batchId, 'carol', rejected);
    expect(r.decided).toEqual([expect.objectContaining({ employeeId: rejected, decision: 'rejected' })]);
    await eventually('the rejected person says fence-rejected', async () => {
      const [st, desc] = await Promise.all([handle(rejected).query(getState), handle(rejected).describe()]);
      return st.status === 'fence-rejected' && desc.searchAttributes.ProvisioningStatus?.[0] === 'fence-rejected' ? true : undefined;
    }, 30_000);

    // Release needs two operators: after the first, nobody moves.
    expect((await decide('release', batchId, 'alice')).batch).toMatchObject({ status: 'open', releasedBy: ['alice'] });
    expect(await activeIds(ids)).toEqual([rejected, ...released].sort());
    expect((await decide('release', batchId, 'bob')).batch).toMatchObject({ status: 'released', decidedBy: ['alice', 'bob'] });
    await eventually('the released ones disabled', async () => ((await activeIds(ids)).length === 1 ? true : undefined), 30_000);
    expect(await activeIds(ids)).toEqual([rejected]);
    await eventually('the released ones deprovisioned', async () => {
      const states = await Promise.all(released.map((id) => handle(id).query(getState)));
      return states.every((st) => st.status === 'deprovisioned' && st.fenceHold === undefined) ? true : undefined;
    }, 30_000);
    expect((await fenceState(p.store, p.taskQueue))!.held).toEqual([]);
  }, 240_000);
});
