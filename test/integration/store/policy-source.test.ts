// The worker's policy source on the real PostgreSQL (runtime/policy-source.ts): planning reads no
// store (the poll's version), and only a rollout's re-evaluation of a version newer than the one in
// force reads it, once per version however many arrive together; a late re-evaluation of an older
// rollout reads nothing and plans under the version in force.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadPolicyDir, readPolicyDir } from '../../../policy/loader.js';
import { followAppliedPolicy, type PolicySource } from '../../../runtime/policy-source.js';
import { recordPolicyApplied } from '../../../store/policy-applied.js';
import { logger } from '../../helpers/pipeline.js';
import { writeTestPolicy } from '../../helpers/test-policy.js';
import { createTestStore, type TestStore } from './test-store.js';

let t: TestStore;
let source: PolicySource | undefined;
beforeAll(async () => {
  t = await createTestStore('policy-source');
});
afterAll(async () => {
  source?.stop();
  await t?.drop();
});

describe('the policy for a change', () => {
  it('reads the store only for a rollout of a newer version, once per version', async () => {
    const v1 = writeTestPolicy();
    const v2 = mkdtempSync(path.join(tmpdir(), 'policy-v2-'));
    cpSync(v1, v2, { recursive: true });
    writeFileSync(path.join(v2, 'extra.yaml'), 'roles:\n  - id: extra\n    entitlements: [chat:it-ops]\n');
    const [first, second] = [loadPolicyDir(v1), loadPolicyDir(v2)];
    if (!first.ok || !second.ok) throw new Error('the test policies do not validate');
    source = await followAppliedPolicy({ store: t.store, dir: v1, pollSeconds: 300, logger });
    const reads = vi.spyOn(t.store.pool, 'query');
    const rollout = (rolloutId: string) => `reevaluate/policy/${rolloutId}`;
    const admin = { employeeId: 'ADM-SOURCE' };

    // Ordinary changes, and no change at all (a reconciliation's comparison): the version in force, no read.
    expect((await source.forChange('hr-E1-1')).version).toBe(first.version);
    expect((await source.forChange()).version).toBe(first.version);
    await recordPolicyApplied(t.store, { version: second.version, files: readPolicyDir(v2), appliedBy: admin, reason: 'a second version' });
    reads.mockClear();
    expect((await source.forChange('hr-E1-2')).version).toBe(first.version);
    expect((await source.forChange(rollout(first.version))).version).toBe(first.version);
    expect(reads).not.toHaveBeenCalled();

    // The rollout of v2 before the poll: a batch of re-evaluations shares one look at the store.
    const batch = await Promise.all(Array.from({ length: 20 }, () => source!.forChange(rollout(second.version))));
    expect(new Set(batch.map((p) => p.version))).toEqual(new Set([second.version]));
    const newestReads = () => reads.mock.calls.filter((call) => (call[0] as unknown as { name?: string }).name === 'newest-applied-policy-rollout').length;
    expect(newestReads()).toBe(1);
    expect(source.current().version).toBe(second.version);

    // v1 applied again (rollout id `<v1>@<seq>`): a late re-evaluation of v2's rollout reads nothing; v1@seq's reads once.
    const again = await recordPolicyApplied(t.store, { version: first.version, files: readPolicyDir(v1), appliedBy: admin, reason: 'back' });
    reads.mockClear();
    expect((await source.forChange(rollout(second.version))).version).toBe(second.version);
    expect(reads).not.toHaveBeenCalled();
    expect((await source.forChange(rollout(again.rolloutId))).version).toBe(first.version);
    expect(newestReads()).toBe(1);
    reads.mockClear();
    expect((await source.forChange(rollout(second.version))).version).toBe(first.version);
    expect((await source.forChange(rollout(`${second.version}@${again.seq - 1}`))).version).toBe(first.version);
    expect(reads).not.toHaveBeenCalled();

    // A version this worker never saw (applied and superseded before it started) is looked for once, then known as older.
    const unseen = rollout('sha256:00000000000000aa');
    expect((await source.forChange(unseen)).version).toBe(first.version);
    expect((await source.forChange(unseen)).version).toBe(first.version);
    expect(newestReads()).toBe(1);
    reads.mockRestore();
  });
});
