import { describe, expect, it } from 'vitest';
import { decideBatch, decidePermit, emptyFence, fenceMemo, fenceState, MEMO_HELD_LISTED, refusal, withdraw } from '../../workflows/fence-logic.js';
import { scopeKey, type PermitRequest } from '../../workflows/fence-messages.js';

const MIN = 60_000;
const limits = { [scopeKey('source', 'hris', 'disableAccount')]: 3, [scopeKey('app', 'chat', 'disableAccount')]: 10 };
const ask = (n: number, over: Partial<PermitRequest> = {}): PermitRequest => ({
  requestId: `identity/E${n}/ev${n}`,
  workflowId: `identity/E${n}`,
  employeeId: `E${n}`,
  source: 'hris',
  steps: [{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }],
  limits,
  windowMs: 15 * MIN,
  releasesRequired: 2,
  ...over,
});

describe('the fence', () => {
  it('lets the threshold through in the window and holds the rest in one batch', () => {
    const m = emptyFence();
    const answers = [1, 2, 3, 4, 5].map((n) => decidePermit(m, ask(n), 0));
    expect(answers.slice(0, 3)).toEqual([{ permit: 'allowed' }, { permit: 'allowed' }, { permit: 'allowed' }]);
    expect(answers[3]).toMatchObject({ permit: 'held', batchId: 'batch-1' });
    expect(answers[4]).toMatchObject({ permit: 'held', batchId: 'batch-1' });
    const state = fenceState(m, 0);
    expect(state.held.map((h) => h.employeeId)).toEqual(['E4', 'E5']);
    expect(state.held[0]!.steps).toEqual([{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }]);
  });

  it('a slow drip trips it too: the window slides, it is not reset per cycle', () => {
    const m = emptyFence();
    // One disable every 5 minutes: 3 fit in any 15-minute window, the 4th within it is held.
    expect(decidePermit(m, ask(1), 0).permit).toBe('allowed');
    expect(decidePermit(m, ask(2), 5 * MIN).permit).toBe('allowed');
    expect(decidePermit(m, ask(3), 10 * MIN).permit).toBe('allowed');
    expect(decidePermit(m, ask(4), 14 * MIN).permit).toBe('held');
  });

  it('what left the window no longer counts', () => {
    const m = emptyFence();
    for (const n of [1, 2, 3]) decidePermit(m, ask(n), 0);
    expect(decidePermit(m, ask(4), 16 * MIN).permit).toBe('allowed');
  });

  it('while a batch is open, a request in its scope waits even when the counts would allow it', () => {
    const m = emptyFence();
    for (const n of [1, 2, 3, 4]) decidePermit(m, ask(n), 0);
    expect(decidePermit(m, ask(5), 20 * MIN)).toMatchObject({ permit: 'held', batchId: 'batch-1' });
    // Another feed is not held by this batch.
    expect(decidePermit(m, ask(6, { source: 'other' }), 20 * MIN).permit).toBe('allowed');
  });

  it('a retried ask gets the same answer and is counted once', () => {
    const m = emptyFence();
    expect(decidePermit(m, ask(1), 0)).toEqual(decidePermit(m, ask(1), 0));
    expect(fenceState(m, 0).inWindow[scopeKey('source', 'hris', 'disableAccount')]).toBe(1);
  });

  it('a release needs a second, different operator; then every held workflow is told', () => {
    const m = emptyFence();
    for (const n of [1, 2, 3, 4, 5]) decidePermit(m, ask(n), 0);
    expect(refusal(m, { batchId: 'batch-1', operator: 'alice' }, 'release')).toBeUndefined();
    expect(decideBatch(m, { batchId: 'batch-1', operator: 'alice' }, 'release', 1).notify).toEqual([]);
    expect(refusal(m, { batchId: 'batch-1', operator: 'alice' }, 'release')).toMatch(/already released/);
    // The same person in another letter case is not a second operator (employee ids compare case-insensitively).
    expect(refusal(m, { batchId: 'batch-1', operator: 'ALICE' }, 'release')).toMatch(/already released/);
    const done = decideBatch(m, { batchId: 'batch-1', operator: 'bob' }, 'release', 2);
    expect(done.batch).toMatchObject({ status: 'released', decidedBy: ['alice', 'bob'] });
    expect(done.notify.map((n) => n.workflowId)).toEqual(['identity/E4', 'identity/E5']);
    expect(done.notify[0]!.decision).toEqual({ batchId: 'batch-1', decision: 'released', operators: ['alice', 'bob'] });
    expect(fenceState(m, 2).held).toEqual([]);
    expect(refusal(m, { batchId: 'batch-1', operator: 'carol' }, 'reject')).toMatch(/already released/);
    expect(refusal(m, { batchId: 'batch-9', operator: 'carol' }, 'reject')).toMatch(/no batch/);
    expect(refusal(m, { batchId: 'batch-1', operator: '' }, 'reject')).toMatch(/operator/);
  });

  it('a rejected batch tells its workflows and lets nothing through; the next trip opens a new batch', () => {
    const m = emptyFence();
    for (const n of [1, 2, 3, 4]) decidePermit(m, ask(n), 0);
    const done = decideBatch(m, { batchId: 'batch-1', operator: 'carol' }, 'reject', 1);
    expect(done.notify).toEqual([{ workflowId: 'identity/E4', decision: { batchId: 'batch-1', decision: 'rejected', operators: ['carol'] } }]);
    expect(fenceState(m, 1).inWindow[scopeKey('source', 'hris', 'disableAccount')]).toBe(3);
    expect(decidePermit(m, ask(5), 2)).toMatchObject({ permit: 'held', batchId: 'batch-2' });
  });

  it('a withdrawn request is no longer listed', () => {
    const m = emptyFence();
    for (const n of [1, 2, 3, 4]) decidePermit(m, ask(n), 0);
    withdraw(m, ask(4).requestId);
    expect(fenceState(m, 0).held).toEqual([]);
  });
});

describe("the fence's memo", () => {
  it('lists the first held requests by employee id, batch and steps, and counts the rest', () => {
    const m = emptyFence();
    expect(fenceMemo(m)).toEqual({ openBatches: [], held: { requests: 0, listed: [], notListed: 0 } });
    const over = MEMO_HELD_LISTED + 5;
    for (let n = 1; n <= 3 + over; n++) decidePermit(m, ask(n, n === 4 ? { steps: [...ask(n).steps, { key: 'revoke/chat/admins', app: 'chat', action: 'revoke', entitlementId: 'admins' }] } : {}), 0);
    const memo = fenceMemo(m);
    expect(memo).toMatchObject({ openBatches: ['batch-1'], held: { requests: over, notListed: 5 } });
    expect(memo.held.listed).toHaveLength(MEMO_HELD_LISTED);
    expect(memo.held.listed[0]).toEqual({ employeeId: 'E4', batchId: 'batch-1', heldAt: new Date(0).toISOString(), steps: ['disableAccount chat', 'revoke chat admins'] });
    expect(memo.held.listed[1]!.steps).toEqual(['disableAccount chat']);
    // Small enough for Temporal's 2 KB memo warning with every listed request.
    expect(JSON.stringify(memo).length).toBeLessThan(2048);
  });
});
