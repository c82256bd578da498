// Checkpoints outside the database: written as the head moves, and tied to one chain.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fileDestination, readCheckpoints, startCheckpointer, writeCheckpoint } from '../../../store/audit-checkpoints.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { createTestStore, testKeys, type TestStore } from './test-store.js';

const opened: TestStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.drop()));
});
const open = async (keys = testKeys().keys): Promise<TestStore> => {
  const t = await createTestStore('checkpoints', { keys });
  opened.push(t);
  return t;
};
const append = (t: TestStore, n: number) =>
  Promise.all(Array.from({ length: n }, (_, i) => t.store.audit({ actor: { type: 'system', id: 'test' }, action: 'test.appended', reason: `r${i}` })));

describe('audit checkpoints', () => {
  it('the checkpointer writes one when the head moved, none when it did not, and a last one on stop', async () => {
    const t = await open();
    const checkpointer = startCheckpointer(t.store.pool, t.signer, [fileDestination(t.checkpointsFile)], { intervalMs: 50 });
    await append(t, 5);
    await new Promise((r) => setTimeout(r, 300));
    await append(t, 3);
    await checkpointer.stop();
    const { checkpoints, problems } = await readCheckpoints(t.checkpointsFile, t.store.keys.verifier);
    expect(problems).toEqual([]);
    expect(checkpoints.at(-1)!.seq).toBe(8);
    // Not one per tick: only when the head moved.
    expect(checkpoints.length).toBeLessThanOrEqual(4);
    expect(new Set(checkpoints.map((c) => c.seq)).size).toBe(checkpoints.length);
    expect(await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier, checkpointsFile: t.checkpointsFile })).toMatchObject({ ok: true, verified: 8 });
  });

  it('a checkpoint of another chain fails verification: the chain was replaced', async () => {
    const keys = testKeys().keys;
    const a = await open(keys);
    const b = await open(keys);
    await append(a, 2);
    await append(b, 2);
    await writeCheckpoint(a.store.pool, a.signer, a.checkpointsFile);
    const result = await verifyAuditChain(b.store.pool, { verifier: keys.verifier, checkpointsFile: a.checkpointsFile });
    expect(result.problem).toMatchObject({ kind: 'checkpoint' });
    expect(result.problem!.message).toMatch(/another chain|is for chain/);
    expect(readFileSync(a.checkpointsFile, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
