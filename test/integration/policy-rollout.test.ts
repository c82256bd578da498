// A policy change on the real stack (Temporal, PostgreSQL, the SCIM target): people provisioned under
// one version; an admin applies a version that gives one department a new birthright group; the
// running worker (never restarted) plans with it within seconds, the rollout re-evaluates everyone
// from the store and asks exactly the affected people's workflows to plan again: they get the group
// in the app, nobody else gets a change, and the rollout view says so. A policy with problems is
// refused and changes nothing.
import { mkdtempSync, readdirSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { formatPolicyRollout, type PolicyRolloutView } from '../../clients/policy-rollout.js';
import { loadPolicyDir, readPolicyDir } from '../../policy/loader.js';
import { queryAudit } from '../../store/index.js';
import { getAppliedPolicy } from '../../store/policy-applied.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { groupNamesOf } from '../helpers/groups.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

const jwt: JwtSettings = { secret: new TextEncoder().encode(`rollout-test-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };

/** The first version plus a birthright rule giving Research the chat group `it-ops`. */
function withResearchOps(base: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-v2-'));
  cpSync(base, dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'research-ops.yaml'),
    'roles:\n  - id: research-ops\n    entitlements: [chat:it-ops]\nbirthright:\n  - id: research-ops\n    when: department == "Research"\n    roles: [research-ops]\n',
  );
  return dir;
}

let p: Pipeline;
let api: ApiServer;
let v1: string;
let v2: string;
const catalog = () => new EntitlementCatalog(p.worker.connectors);
const research = [uniqueName('R').replaceAll('.', ''), uniqueName('R').replaceAll('.', '')];
const support = [uniqueName('S').replaceAll('.', ''), uniqueName('S').replaceAll('.', '')];
const admin = uniqueName('ADM').replaceAll('.', '');

beforeAll(async () => {
  v1 = writeTestPolicy();
  v2 = withResearchOps(v1);
  p = await startPipeline({ appNames: ['chat'], policyDir: v1, followAppliedPolicy: true });
  api = await startApi({ cfg: { ...p.cfg, policy: { ...p.cfg.policy, rolloutPerSecond: 50, rolloutBatchSize: 1 } }, logger, client: p.ingress.client, store: p.store, port: 0, jwt, corsOrigins: [] });
});
afterAll(async () => {
  await api?.close();
  await p?.close();
});

const call = async (method: 'GET' | 'POST', route: string, body?: unknown, roles: Array<'admin' | 'operator' | 'auditor'> = ['admin']) => {
  const token = await mintToken(jwt, { sub: admin, roles, ttl: '10m' });
  const res = await fetch(`${api.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const outcomeIds = async (employeeId: string): Promise<string[]> => {
  const { rows } = await p.store.pool.query<{ change_id: string }>('select o.change_id from outcomes o join identities i using (person_id) where i.employee_id = $1 order by o.change_id', [employeeId]);
  return rows.map((r) => r.change_id);
};

describe('policy apply and its rollout', () => {
  it('moves exactly the people whose desired access changes, through their workflows, without a worker restart', async () => {
    const everyone = [...research, ...support];
    await p.produce(everyone.map((id) => ({ key: id, value: JSON.stringify(hrEvent(id, { data: { department: research.includes(id) ? 'Research' : 'Support', title: 'Analyst' } })) })));
    await eventually('everyone provisioned', async () => {
      const states = await Promise.all(everyone.map((id) => p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState)));
      return states.every((st) => st.lastAppliedSequence === 1 && st.status === 'provisioned') ? true : undefined;
    }, 90_000);
    // getState says provisioned as the hire's outcome is being recorded: wait for every row.
    await eventually('every hire recorded', async () => ((await Promise.all(everyone.map(outcomeIds))).every((o) => o.length === 1) ? true : undefined), 30_000);
    const worker = p.worker;
    const first = loadPolicyDir(v1);
    if (!first.ok) throw new Error('the test policy does not validate');
    expect(worker.policy.version).toBe(first.version);
    // The worker recorded the folder's version as applied at its start.
    expect((await getAppliedPolicy(p.store.pool, p.store.keys.kek))).toMatchObject({ version: first.version, appliedBy: 'system:startup', status: 'completed' });
    const before = Object.fromEntries(await Promise.all(everyone.map(async (id) => [id, { groups: await groupNamesOf(p, catalog(), 'chat', id), outcomes: await outcomeIds(id) }] as const)));
    for (const id of everyone) expect(before[id]!.groups).not.toContain('it-ops');

    // A policy with a problem: refused with the problem, nothing stored, the worker keeps its version.
    const broken = readPolicyDir(v2).map((f) => (f.name === 'research-ops.yaml' ? { ...f, content: `${f.content}    bogus: 1\n` } : f));
    const refused = await call('POST', '/policy/apply', { files: broken, reason: 'a broken change' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ reason: 'invalid-policy' });
    expect(JSON.stringify(refused.body.problems)).toMatch(/research-ops\.yaml:\d+: .*bogus/);
    const { rows: appliedRows } = await p.store.pool.query('select version from policy_applied');
    expect(appliedRows.map((r) => r.version)).toEqual([first.version]);
    // Only an admin applies.
    expect((await call('POST', '/policy/apply', { files: readPolicyDir(v2), reason: 'no' }, ['operator'])).status).toBe(403);

    // The real change.
    const applied = await call('POST', '/policy/apply', { files: readPolicyDir(v2), reason: 'Research runs its own on-call' });
    expect(applied.status).toBe(200);
    const second = loadPolicyDir(v2);
    if (!second.ok) throw new Error('the second policy does not validate');
    expect(applied.body).toMatchObject({ changed: true, version: second.version, previousVersion: first.version, workflowId: `policy-rollout/${second.version}` });
    await eventually('the worker plans with the new version', async () => (p.worker.policy.version === second.version ? true : undefined), 20_000);
    expect(p.worker).toBe(worker);

    let last: unknown;
    const view = await eventually('the rollout converged', async () => {
      const v = (await call('GET', `/policy/rollouts/${second.version}`, undefined, ['auditor'])).body as unknown as PolicyRolloutView;
      last = v;
      return v.status === 'completed' && v.converged === research.length ? v : undefined;
    }, 90_000).catch(async (err: Error) => {
      const { rows } = await p.store.pool.query(`select i.employee_id, o.change_id, o.status, o.policy_version, o.steps, o.reason from outcomes o join identities i using (person_id) order by o.completed_at`);
      throw new Error(`${err.message}; view: ${JSON.stringify(last)}; outcomes: ${JSON.stringify(rows)}`);
    });
    expect(view).toMatchObject({ version: second.version, previousVersion: first.version, appliedBy: admin, reason: 'Research runs its own on-call', changed: research.length, signalled: research.length, converged: research.length, failed: 0, heldByFence: 0 });
    expect(view.evaluated).toBe(everyone.length);
    expect(view.people.map((x) => x.employeeId).sort()).toEqual([...research].sort());
    expect(formatPolicyRollout(view)).toMatch(/changed {11}2\n/);

    // Exactly the affected people got the group, each through one change of their workflow.
    for (const id of research) {
      expect(await groupNamesOf(p, catalog(), 'chat', id)).toEqual([...before[id]!.groups, 'it-ops'].sort());
      expect(await outcomeIds(id)).toEqual([...before[id]!.outcomes, `${identityWorkflowId(id)}/reevaluate/policy/${second.version}`].sort());
    }
    for (const id of support) {
      expect(await groupNamesOf(p, catalog(), 'chat', id)).toEqual(before[id]!.groups);
      expect(await outcomeIds(id)).toEqual(before[id]!.outcomes);
    }
    // Audited: who applied which version.
    const records = await queryAudit(p.store.pool, p.store.keys.kek, { action: 'policy.applied' });
    expect(records.map((r) => [r.policyVersion, r.actorEmployeeId ?? r.actor])).toEqual([[second.version, admin], [first.version, 'system:startup']]);
    expect(readdirSync(v2)).toContain('research-ops.yaml');
  }, 240_000);
});
