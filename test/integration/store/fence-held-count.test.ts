// The fence's count of held asks per source (store/fence.ts heldCountBySource), on the real
// PostgreSQL: what a policy rollout's view reports as "held by the fence" for its own source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopeKey } from '../../../schemas/fence.js';
import { heldCountBySource } from '../../../store/fence.js';
import { askFencePermit, type FencePermitAsk } from '../../../store/index.js';
import { createTestStore, type TestStore } from './test-store.js';

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('fence-count');
});
afterAll(async () => {
  await t?.drop();
});

const FENCE = 'fence/count-queue';
const ask = (n: number, source: string): FencePermitAsk => ({
  fenceId: FENCE,
  budget: 'default',
  requestId: `identity/E${n}/ev-${n}`,
  workflowId: `identity/E${n}`,
  employeeId: `E${n}`,
  source,
  steps: [{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }],
  limits: { [scopeKey('source', 'default', 'disableAccount')]: 1, [scopeKey('app', 'chat', 'disableAccount')]: 1000 },
  windowMs: 600_000,
  releasesRequired: 1,
});

describe('held asks counted by source', () => {
  it('counts only the held asks of that source on that fence', async () => {
    const rollout = 'policy/0123abcd';
    // The first ask passes the threshold of 1; every later one is held in the open batch, whatever its source.
    const answers = [];
    for (const [n, source] of [[1, rollout], [2, rollout], [3, rollout], [4, 'urn:hris:test']] as const) answers.push(await askFencePermit(t.store, ask(n, source)));
    expect(answers.map((a) => a.permit)).toEqual(['allowed', 'held', 'held', 'held']);
    expect(await heldCountBySource(t.store.pool, FENCE, rollout)).toBe(2);
    expect(await heldCountBySource(t.store.pool, FENCE, 'urn:hris:test')).toBe(1);
    expect(await heldCountBySource(t.store.pool, FENCE, 'policy/ffffffff')).toBe(0);
    expect(await heldCountBySource(t.store.pool, 'fence/another-queue', rollout)).toBe(0);
  });
});
