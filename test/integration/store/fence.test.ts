// The fence in the store, on the real PostgreSQL: a burst of concurrent asks is counted exactly
// (the threshold passes, the rest are held in one batch, no ask fails), a retried ask gets its
// first answer, single people are released or rejected inside a batch with the two-person rule
// counted case-insensitively, every decision is audited, and the listing answers during the burst.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askFencePermit, decideFence, fenceListing, fenceRequestDecision, FenceRefusedError, queryAudit, withdrawFencePermit, type FencePermitAsk } from '../../../store/index.js';
import { scopeKey } from '../../../schemas/fence.js';
import { createTestStore, type TestStore } from './test-store.js';

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('fence', { poolMax: 8 });
});
afterAll(async () => {
  await t?.drop();
});

const FENCE = 'fence/test-queue';
const LIMIT = 20;
const ask = (n: number, over: Partial<FencePermitAsk> = {}): FencePermitAsk => ({
  fenceId: FENCE,
  budget: 'default',
  requestId: `identity/E${n}/ev-${n}`,
  workflowId: `identity/E${n}`,
  employeeId: `E${n}`,
  source: 'urn:hris:test',
  steps: [{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }],
  limits: { [scopeKey('source', 'default', 'disableAccount')]: LIMIT, [scopeKey('app', 'chat', 'disableAccount')]: 1000 },
  windowMs: 600_000,
  releasesRequired: 2,
  ...over,
});

describe('the fence in the store', () => {
  it('counts a concurrent burst exactly: the threshold passes, the rest are held in one batch, and a retried ask gets its first answer', async () => {
    const asks = Array.from({ length: 200 }, (_, i) => ask(i + 1));
    let listings = 0;
    let burstDone = false;
    const lister = (async () => {
      while (!burstDone) {
        await fenceListing(t.store.pool, FENCE);
        listings++;
      }
    })();
    const answers = await Promise.all(asks.map((a) => askFencePermit(t.store, a)));
    burstDone = true;
    await lister;
    expect(listings).toBeGreaterThan(0);
    expect(answers.filter((a) => a.permit === 'allowed')).toHaveLength(LIMIT);
    const held = answers.filter((a) => a.permit === 'held');
    expect(held).toHaveLength(200 - LIMIT);
    expect(new Set(held.map((a) => a.batchId))).toEqual(new Set(['batch-1']));

    // Retried asks (an activity retried after a lost answer) get the same answers and count nothing more.
    const again = await Promise.all(asks.map((a) => askFencePermit(t.store, a)));
    expect(again).toEqual(answers);
    const state = (await fenceListing(t.store.pool, FENCE))!;
    expect(state.inWindow[scopeKey('source', 'default', 'disableAccount')]).toBe(LIMIT);
    expect(state.held).toHaveLength(200 - LIMIT);
    expect(state.batches).toEqual([expect.objectContaining({ batchId: 'batch-1', status: 'open', requests: 200 - LIMIT, releasesRequired: 2 })]);
    expect(state.batches[0]!.reasons[0]).toMatch(/disableAccount from source default: 21 would exceed 20 in 10 min/);
    const permits = (await queryAudit(t.store.pool, t.store.keys.kek, { limit: 1000 })).filter((r) => r.action.startsWith('fence.permit.'));
    expect(permits.filter((r) => r.action === 'fence.permit.allowed')).toHaveLength(LIMIT);
    expect(permits.filter((r) => r.action === 'fence.permit.held')).toHaveLength(200 - LIMIT);

    // Another budget (a source the policy names) counts on its own; an ask whose scope the open batch holds joins it,
    // though its own count has room (a slow drip cannot trickle past a tripped fence).
    const named = { budget: 'hr.lifecycle', source: 'hr.lifecycle', limits: { [scopeKey('source', 'hr.lifecycle', 'disableAccount')]: 5, [scopeKey('app', 'mail', 'disableAccount')]: 1000 }, steps: [{ key: 'disableAccount/mail', app: 'mail', action: 'disableAccount' as const }] };
    expect(await askFencePermit(t.store, ask(901, named))).toEqual({ permit: 'allowed' });
    const drip = await askFencePermit(t.store, ask(902, { limits: { [scopeKey('source', 'default', 'disableAccount')]: 1_000, [scopeKey('app', 'chat', 'disableAccount')]: 1000 } }));
    expect(drip).toMatchObject({ permit: 'held', batchId: 'batch-1', reasons: [expect.stringMatching(/disableAccount from source default: batch batch-1 is open/)] });
    await withdrawFencePermit(t.store, { fenceId: FENCE, requestId: ask(902).requestId, employeeId: 'E902' });
  });

  it('releases one person inside a batch (two distinct operators, any letter case), rejects another, and the batch for the rest', async () => {
    const first = (await fenceListing(t.store.pool, FENCE))!.held;
    const [one, two] = [first[0]!, first[1]!];
    const half = await decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: 'op-a', person: { employeeId: one.employeeId.toLowerCase() } });
    expect(half.decided).toEqual([]);
    // Still held: a held workflow reading its decision on its timer finds none yet.
    expect(await fenceRequestDecision(t.store.pool, { fenceId: FENCE, requestId: one.requestId })).toBeUndefined();
    await expect(decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: 'OP-A', person: { employeeId: one.employeeId } })).rejects.toThrow(FenceRefusedError);
    const released = await decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: 'op-b', person: { requestId: one.requestId } });
    expect(released.decided).toEqual([{ requestId: one.requestId, employeeId: one.employeeId, decision: 'released' }]);
    expect(released.notify).toEqual([{ workflowId: one.workflowId, decision: { batchId: 'batch-1', decision: 'released', operators: ['op-a', 'op-b'], requestId: one.requestId } }]);
    expect(released.batch).toMatchObject({ status: 'open' });

    const rejected = await decideFence(t.store, { fenceId: FENCE, kind: 'reject', batchId: 'batch-1', operator: 'op-c', person: { employeeId: two.employeeId } });
    expect(rejected.notify).toEqual([{ workflowId: two.workflowId, decision: { batchId: 'batch-1', decision: 'rejected', operators: ['op-c'], requestId: two.requestId } }]);
    await expect(decideFence(t.store, { fenceId: FENCE, kind: 'reject', batchId: 'batch-1', operator: 'op-c', person: { employeeId: two.employeeId } })).rejects.toThrow(/not held in batch batch-1/);
    // What the signals said, read back by request id (a workflow whose signal was lost finds it on its timer).
    expect(await fenceRequestDecision(t.store.pool, { fenceId: FENCE, requestId: one.requestId })).toEqual(released.notify[0]!.decision);
    expect(await fenceRequestDecision(t.store.pool, { fenceId: FENCE, requestId: two.requestId })).toEqual(rejected.notify[0]!.decision);

    const after = (await fenceListing(t.store.pool, FENCE))!;
    expect(after.held.map((h) => h.employeeId)).not.toContain(one.employeeId);
    expect(after.held.map((h) => h.employeeId)).not.toContain(two.employeeId);
    expect(after.held).toHaveLength(first.length - 2);
    // The released person's step counts in the window.
    expect(after.inWindow[scopeKey('source', 'default', 'disableAccount')]).toBe(LIMIT + 1);

    // A withdrawn ask leaves the batch.
    const three = after.held[0]!;
    expect(await withdrawFencePermit(t.store, { fenceId: FENCE, requestId: three.requestId, employeeId: three.employeeId })).toBe(true);

    // The batch: the first release waits for a second operator; then every one still held goes.
    const b1 = await decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: 'op-a' });
    expect(b1.batch).toMatchObject({ status: 'open', releasedBy: ['op-a'] });
    const b2 = await decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: 'op-d' });
    expect(b2.batch).toMatchObject({ status: 'released', decidedBy: ['op-a', 'op-d'] });
    expect(b2.decided).toHaveLength(first.length - 3);
    await expect(decideFence(t.store, { fenceId: FENCE, kind: 'reject', batchId: 'batch-1', operator: 'op-e' })).rejects.toThrow(/already released/);
    expect((await fenceListing(t.store.pool, FENCE))!.held).toEqual([]);

    const decisions = (await queryAudit(t.store.pool, t.store.keys.kek, { limit: 1000 })).filter((r) => ['fence.released', 'fence.rejected', 'fence.release.recorded', 'fence.permit.withdrawn'].includes(r.action));
    expect(decisions.map((r) => r.action).reverse()).toEqual(['fence.permit.withdrawn', 'fence.release.recorded', 'fence.released', 'fence.rejected', 'fence.permit.withdrawn', 'fence.release.recorded', 'fence.released']);
  });

  it('bad decisions are refused and change nothing', async () => {
    await expect(decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-404', operator: 'op-a' })).rejects.toThrow(/no batch batch-404/);
    await expect(decideFence(t.store, { fenceId: FENCE, kind: 'release', batchId: 'batch-1', operator: ' ' })).rejects.toThrow(/operator id is required/);
    expect(await fenceListing(t.store.pool, 'fence/never-asked')).toBeUndefined();
  });
});
