// A policy version applied whose rollout never started (the apply recorded it, then starting the
// rollout failed: Temporal down, the API stopped in between) is not left behind: the workers start
// the rollout of a version still `pending` on their policy poll and when they start, once, however
// many of them look (the start is idempotent: workflow id `policy-rollout/<rollout id>`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyRolloutResult } from '../../clients/policy-rollout.js';
import { loadPolicyDir, readPolicyDir } from '../../policy/loader.js';
import { loadConfig } from '../../schemas/config.js';
import { getAppliedPolicy, recordPolicyApplied } from '../../store/policy-applied.js';
import { policyRolloutWorkflowId } from '../../workflows/policy-rollout.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

let p: Pipeline;
let v1: string;
const admin = { employeeId: 'ADM-PENDING' };

/** The first version plus one birthright rule: another version of the same policy. */
function withRule(base: string, id: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-pending-'));
  cpSync(base, dir, { recursive: true });
  writeFileSync(path.join(dir, `${id}.yaml`), `roles:\n  - id: ${id}\n    entitlements: [chat:it-ops]\nbirthright:\n  - id: ${id}\n    when: department == "${id}"\n    roles: [${id}]\n`);
  return dir;
}

beforeAll(async () => {
  v1 = writeTestPolicy();
  const base = loadConfig();
  p = await startPipeline({ appNames: ['chat'], policyDir: v1, followAppliedPolicy: true, config: { ...base, policy: { ...base.policy, pollSeconds: 1 } } });
});
afterAll(async () => {
  await p?.close();
});

const rolloutEnded = (version: string) =>
  eventually(`the rollout of ${version} completed`, async () => {
    const applied = await getAppliedPolicy(p.store.pool, undefined, { version });
    return applied?.status === 'completed' ? applied : undefined;
  }, 20_000);

describe('a pending policy rollout', () => {
  it('is started by the running worker on its poll, once', async () => {
    const started = new Date();
    const v2 = withRule(v1, 'pending-poll');
    const version = loadPolicyDir(v2);
    if (!version.ok) throw new Error('the second policy does not validate');
    // Recorded as `policy apply` records it, and nobody starts its rollout.
    const applied = await recordPolicyApplied(p.store, { version: version.version, files: readPolicyDir(v2), appliedBy: admin, reason: 'the rollout start failed' });
    expect((await getAppliedPolicy(p.store.pool, undefined, { seq: applied.seq }))!.status).toBe('pending');
    await rolloutEnded(version.version);
    expect(await policyRolloutResult(p.ingress.client, applied.rolloutId)).toMatchObject({ status: 'completed' });
    const run = await p.ingress.client.workflow.getHandle(policyRolloutWorkflowId(applied.rolloutId)).describe();
    // Later polls start nothing more: one run of the rollout (workflow ids outlive a test's store: count this test's runs).
    await new Promise((r) => setTimeout(r, 2_500));
    const runs = [];
    for await (const wf of p.ingress.client.workflow.list({ query: `WorkflowId="${policyRolloutWorkflowId(applied.rolloutId)}" AND StartTime >= "${started.toISOString()}"` })) runs.push(wf.runId);
    expect(runs).toEqual([run.runId]);
  }, 30_000);

  it('is started by a worker when it starts', async () => {
    await p.worker.shutdown();
    // The first version applied again while no worker runs: its rollout id is `<version>@<seq>`.
    const first = loadPolicyDir(v1);
    if (!first.ok) throw new Error('the test policy does not validate');
    const applied = await recordPolicyApplied(p.store, { version: first.version, files: readPolicyDir(v1), appliedBy: admin, reason: 'back to the first version' });
    expect(applied.rolloutId).toBe(`${first.version}@${applied.seq}`);
    await p.startWorker();
    // Started before the worker's start resolved (its first poll may come later).
    expect((await p.ingress.client.workflow.getHandle(policyRolloutWorkflowId(applied.rolloutId)).describe()).status.name).toMatch(/RUNNING|COMPLETED/);
    await rolloutEnded(first.version);
  }, 30_000);
});
