// The engine does what the policy says, in three SCIM apps and the LDAP directory, whatever order
// the events arrive in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { planIdentity } from '../../policy/planner.js';
import type { Identity } from '../../policy/identity.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let catalog: EntitlementCatalog;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code', 'crm'], policyDir: writeTestPolicy({ moverGracePeriod: 'PT2S' }) });
  catalog = new EntitlementCatalog(p.worker.connectors);
});
afterAll(async () => {
  await p?.close();
});

const call = () => ({ idempotencyKey: 'test', correlationId: 'test', signal: AbortSignal.timeout(30_000) });
const employee = () => uniqueName('P').replaceAll('.', '');

/** What each application reports the person holds: app → sorted entitlement names (apps with an account only). */
async function held(employeeId: string): Promise<Record<string, { active: boolean; groups: string[] }>> {
  const out: Record<string, { active: boolean; groups: string[] }> = {};
  for (const [app, connector] of p.worker.connectors) {
    const account = await connector.getAccount({ employeeId }, call());
    if (account) out[app] = { active: account.active, groups: (await catalog.namesOf(app, account.entitlements ?? [], call())).sort() };
  }
  return out;
}

/** What the policy says a new person with these attributes gets now (grants that need no approval, and their accounts). */
function expected(snapshot: Identity): Record<string, { active: boolean; groups: string[] }> {
  const { plan } = planIdentity(p.worker.policy, { identity: snapshot, actual: [], now: new Date().toISOString() });
  const out: Record<string, { active: boolean; groups: string[] }> = {};
  for (const step of plan.steps) {
    if (!p.worker.connectors.has(step.app)) continue;
    // An account only approval-gated grants need is made with the first approval, not at hire (least privilege).
    if (step.action === 'ensureAccount' && !step.untilApproved) out[step.app] ??= { active: true, groups: [] };
    if (step.action === 'grant' && !(step.approvals?.length ?? 0)) (out[step.app] ??= { active: true, groups: [] }).groups.push(step.entitlementId!);
  }
  for (const v of Object.values(out)) v.groups.sort();
  return out;
}

async function converged(employeeId: string, sequence: number) {
  const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
  return eventually(`${employeeId} converged at sequence ${sequence}`, async () => {
    const state = await handle.query(getState).catch(() => undefined);
    return state && state.lastAppliedSequence >= sequence && state.pendingEvents === 0 && state.status !== 'provisioning' && state.scheduled.length === 0 ? state : undefined;
  }, 60_000);
}

describe('policy-driven provisioning across SCIM apps and LDAP', () => {
  for (const person of [
    { label: 'an EU engineer', data: { department: 'Engineering', title: 'Engineer', region: 'eu' } },
    { label: 'an EU sales rep', data: { department: 'Sales', title: 'Account Executive', region: 'eu' } },
    { label: 'a US sales rep (the EU-only crm is withheld)', data: { department: 'Sales', title: 'Account Executive', region: 'us' } },
  ]) {
    it(`${person.label} gets exactly the accounts and groups the policy says, in every app`, async () => {
      const id = employee();
      const event = hrEvent(id, { data: person.data });
      await p.produce([{ key: id, value: JSON.stringify(event) }]);
      await converged(id, 1);
      const want = expected(event.data as Identity);
      expect(Object.keys(want)).toContain('directory');
      expect(await held(id)).toEqual(want);
      if (person.data.region === 'us') expect(want).not.toHaveProperty('crm');
    });
  }

  it('an update that arrives before the hire still ends in the state of the highest sequence', async () => {
    const id = employee();
    const hire = hrEvent(id, { sequence: 1, data: { department: 'Engineering', title: 'Engineer' } });
    const move = hrEvent(id, { type: 'hr.worker.updated', sequence: 2, data: { department: 'Research', title: 'Research Scientist' } });
    await p.produce([{ key: id, value: JSON.stringify(move) }]);
    await converged(id, 2);
    await p.produce([{ key: id, value: JSON.stringify(hire) }]);
    await new Promise((r) => setTimeout(r, 2_000));
    const state = await converged(id, 2);
    expect(state.lastAppliedSequence).toBe(2);
    expect(state.ignoredEvents.map((e) => e.sequence)).toContain(1);
    expect(await held(id)).toEqual(expected(move.data as Identity));
  });

  it('a stale update after the termination does not resurrect the person', async () => {
    const id = employee();
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { sequence: 1 })) }]);
    await converged(id, 1);
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { type: 'hr.worker.terminated', sequence: 3, data: { status: 'terminated' } })) }]);
    await eventually('disabled everywhere', async () => {
      const now = await held(id);
      return Object.values(now).length > 0 && Object.values(now).every((a) => !a.active && a.groups.length === 0) ? true : undefined;
    });
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { type: 'hr.worker.updated', sequence: 2, id: `${id}-stale-2` })) }]);
    await new Promise((r) => setTimeout(r, 2_000));
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    expect(state.lastAppliedSequence).toBe(3);
    expect(state.ignoredEvents.map((e) => e.eventId)).toContain(`${id}-stale-2`);
    for (const account of Object.values(await held(id))) expect(account).toEqual({ active: false, groups: [] });
  });
});
