// Which policy a plan uses, on the real stack: the worker plans with the version its poll found
// (no store read per plan), and a rollout's re-evaluation of a newer version than that (its signal
// can arrive before the poll saw the version) plans under the new version all the same. The poll
// here is five minutes away: only the re-evaluation can have moved the worker to the new version.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { appliedRolloutInput, policyRolloutResult, startPolicyRollout } from '../../clients/policy-rollout.js';
import { loadPolicyDir, readPolicyDir } from '../../policy/loader.js';
import { loadConfig } from '../../schemas/config.js';
import { recordPolicyApplied } from '../../store/policy-applied.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { groupNamesOf } from '../helpers/groups.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let v1: string;
let v2: string;

beforeAll(async () => {
  v1 = writeTestPolicy();
  v2 = mkdtempSync(path.join(tmpdir(), 'policy-v2-'));
  cpSync(v1, v2, { recursive: true });
  writeFileSync(path.join(v2, 'research-ops.yaml'), 'roles:\n  - id: research-ops\n    entitlements: [chat:it-ops]\nbirthright:\n  - id: research-ops\n    when: department == "Research"\n    roles: [research-ops]\n');
  const base = loadConfig();
  p = await startPipeline({ appNames: ['chat'], policyDir: v1, followAppliedPolicy: true, config: { ...base, policy: { ...base.policy, pollSeconds: 300 } } });
});
afterAll(async () => {
  await p?.close();
});

const provisioned = (id: string, sequence = 1) =>
  eventually(`${id} provisioned`, async () => {
    const st = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    return st.lastAppliedSequence === sequence && st.status === 'provisioned' ? st : undefined;
  }, 30_000);

const outcomeVersion = async (id: string, changeId: string): Promise<string | undefined> => {
  const { rows } = await p.store.pool.query<{ policy_version: string }>('select o.policy_version from outcomes o join identities i using (person_id) where i.employee_id = $1 and o.change_id = $2', [id, `${identityWorkflowId(id)}/${changeId}`]);
  return rows[0]?.policy_version;
};

describe('the policy a plan uses', () => {
  it('is the polled version, except for a rollout re-evaluation of a newer one, which plans under it before the poll', async () => {
    const first = loadPolicyDir(v1);
    const second = loadPolicyDir(v2);
    if (!first.ok || !second.ok) throw new Error('the test policies do not validate');
    const researcher = uniqueName('R').replaceAll('.', '');
    const joiner = uniqueName('J').replaceAll('.', '');
    await p.produce([{ key: researcher, value: JSON.stringify(hrEvent(researcher, { data: { department: 'Research', title: 'Analyst' } })) }]);
    await provisioned(researcher);

    // v2 applied; this worker's poll has not seen it.
    const applied = await recordPolicyApplied(p.store, { version: second.version, files: readPolicyDir(v2), appliedBy: { employeeId: 'ADM-FOR-CHANGE' }, reason: 'Research runs its own on-call' });
    // An ordinary change plans with the version in force (the poll's), reading no newer one.
    await p.produce([{ key: joiner, value: JSON.stringify(hrEvent(joiner, { data: { department: 'Research', title: 'Analyst' } })) }]);
    await provisioned(joiner);
    // getState says provisioned as the outcome is recorded: wait for the row.
    expect(await eventually(`${joiner}'s outcome recorded`, () => outcomeVersion(joiner, `${joiner}-1`), 30_000)).toBe(first.version);
    expect(p.worker.policy.version).toBe(first.version);

    // The rollout's re-evaluation names v2: the worker reads the store first and plans under v2.
    await startPolicyRollout(p.ingress.client, p.taskQueue, appliedRolloutInput(applied, p.cfg.policy));
    expect(await policyRolloutResult(p.ingress.client, applied.rolloutId)).toMatchObject({ changed: 2, signalled: 2, status: 'completed' });
    const change = `reevaluate/policy/${applied.rolloutId}`;
    for (const id of [researcher, joiner]) {
      expect(await eventually(`${id}'s re-evaluation recorded`, () => outcomeVersion(id, change), 30_000)).toBe(second.version);
      expect(await groupNamesOf(p, new EntitlementCatalog(p.worker.connectors), 'chat', id)).toContain('it-ops');
    }
    expect(p.worker.policy.version).toBe(second.version);
  }, 60_000);
});
