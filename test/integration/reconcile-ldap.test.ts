// Reconciliation of the directory (the real slapd) on the real stack, in an OU of its own: people
// hired through Kafka, then the directory changed behind our back (a membership removed and one
// added, a title changed, an entry deleted, an entry made by hand with an employee number nobody
// has). A dry run finds each kind; a real run disables the orphan (moved to the disabled OU, never
// deleted), has each person's workflow fix what the policy says to fix, and leaves the reported
// extra membership alone. (The directory lists only entries that carry an employeeNumber: an entry
// without one is never listed, so the directory has no uncorrelated-account findings.)
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReconcile } from '../../clients/reconcile.js';
import { escapeDnValue } from '../../connectors/ldap/escape.js';
import { loadConfig } from '../../schemas/config.js';
import { listFindings } from '../../store/reconcile.js';
import type { ReconcileResult } from '../../workflows/reconcile-application.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { createTestOu, type TestOu } from '../connectors/helpers/ldap-ou.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writePolicyYaml } from '../helpers/policy-yaml.js';
import { uniqueName } from '../helpers/unique.js';

const id = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const OWNER = id('O');
const [E1, E2, E4, E5] = ['LMISS', 'LEXTRA', 'LATTR', 'LNOACC'].map((p) => id(p)) as [string, string, string, string];
const ORPHAN = id('LNOBODY');

function writePolicy(): string {
  return writePolicyYaml(
    'reconcile-ldap',
    `approverGroups:
  - { id: it-operations, members: [${OWNER}] }
applications:
  - id: directory
    connector: ldap
    config: ldap
    owner: it-operations
    classification: internal
    rename: action-required
    attributes: { uid: email, cn: 'givenName + " " + familyName', sn: familyName, mail: email, title: title }
    entitlements:
      - { id: staff }
      - { id: vpn-users }
    reconcile:
      remediation: { orphan-account: disable-orphans, missing-account: fix, missing-entitlement: fix, attribute-drift: fix }
roles:
  - { id: employee, entitlements: [directory:staff] }
birthright:
  - { id: everyone, when: 'employmentType == "employee"', roles: [employee] }
lifecycle: { moverGracePeriod: PT10M, leaverDeletionDelay: P30D, personalDataRetention: P2Y, onLeave: keep }
`,
  );
}

let ou: TestOu;
let p: Pipeline;
beforeAll(async () => {
  ou = await createTestOu('reconcile');
  const base = loadConfig();
  const name = ou.dn.slice(0, ou.dn.length - base.ldap.baseDn.length - 1);
  const config = { ...base, ldap: { ...base.ldap, ous: { people: `ou=people,${name}`, groups: `ou=groups,${name}`, disabled: `ou=disabled,${name}` } } };
  p = await startPipeline({ appNames: [], policyDir: writePolicy(), config });
}, 120_000);
afterAll(async () => {
  await p?.close();
  await ou?.close();
});

const entryOf = async (employeeId: string) => (await ou.byEmployeeNumber(employeeId))[0];
const groupDn = (name: string) => `cn=${escapeDnValue(name)},${ou.groups}`;
async function membersOf(name: string): Promise<string[]> {
  const { searchEntries } = await ou.admin.search(groupDn(name), { scope: 'base', attributes: ['member'] });
  const m = searchEntries[0]?.member;
  return (Array.isArray(m) ? m : [m]).map(String).map((d) => d.toLowerCase());
}
const member = (op: 'add' | 'delete', group: string, dn: string) => ou.admin.modify(groupDn(group), new Change({ operation: op, modification: new Attribute({ type: 'member', values: [dn] }) }));
async function provisioned(employeeId: string) {
  const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
  await eventually(`${employeeId} provisioned`, async () => ((await handle.query(getState).catch(() => undefined))?.status === 'provisioned' ? true : undefined));
}
async function reconcile(dryRun = false): Promise<ReconcileResult> {
  const workflowId = await startReconcile(p.ingress.client, p.taskQueue, { app: 'directory', dryRun });
  return p.ingress.client.workflow.getHandle(workflowId).result();
}
const brief = (r: ReconcileResult) => Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0));

describe('reconciling the directory', () => {
  let orphanDn: string;
  let e2Dn: string;

  it('a dry run finds each kind of drift the directory can show and changes nothing', async () => {
    for (const e of [E1, E2, E4, E5]) await p.produce([{ key: e, value: JSON.stringify(hrEvent(e)) }]);
    for (const e of [E1, E2, E4, E5]) await provisioned(e);
    const [d1, d2, d4, d5] = await Promise.all([E1, E2, E4, E5].map(async (e) => (await entryOf(e))!.dn));
    e2Dn = d2!;
    await member('delete', 'staff', d1!);
    await member('add', 'vpn-users', d2!);
    await ou.admin.modify(d4!, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Astronaut'] }) }));
    await ou.admin.del(d5!);
    orphanDn = `uid=${escapeDnValue(ORPHAN.toLowerCase())},${ou.people}`;
    await ou.admin.add(orphanDn, { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], uid: ORPHAN.toLowerCase(), cn: 'Hand Made', sn: 'Made', employeeNumber: ORPHAN });

    const run = await reconcile(true);
    expect(run).toMatchObject({ listingComplete: true, removalsBlocked: [], accounts: 4 });
    expect(brief(run)).toEqual({ 'missing-account': 1, 'orphan-account': 1, 'missing-entitlement': 1, 'extra-entitlement': 1, 'attribute-drift': 1 });
    const findings = await listFindings(p.store.pool, { runId: run.runId });
    expect(findings.map((f) => `${f.kind} ${f.employeeId ?? '-'} ${f.entitlementId ?? f.attribute ?? ''} -> ${f.remediation}`).sort()).toEqual(
      [
        `attribute-drift ${E4} title -> would fix: re-evaluation asked`,
        `extra-entitlement ${E2} vpn-users -> report`,
        `missing-account ${E5}  -> would fix: re-evaluation asked`,
        `missing-entitlement ${E1} staff -> would fix: re-evaluation asked`,
        `orphan-account -  -> would disable`,
      ].sort(),
    );
    expect((await entryOf(ORPHAN))!.dn.toLowerCase()).toBe(orphanDn.toLowerCase());
  });

  it('a real run disables the orphan (moved, not deleted), fixes through the workflows, and leaves the reported membership', async () => {
    const run = await reconcile();
    expect(run.remediation).toMatchObject({ reevaluated: 3, disabled: 1, failed: 0 });
    const orphan = await entryOf(ORPHAN);
    expect(orphan).toBeDefined();
    expect(orphan!.dn.toLowerCase()).toContain(ou.disabled.toLowerCase());
    const d1 = (await entryOf(E1))!.dn.toLowerCase();
    await eventually('E1 back in staff', async () => ((await membersOf('staff')).includes(d1) ? true : undefined));
    await eventually('E4 title restored', async () => (String((await entryOf(E4))?.title) === 'Engineer' ? true : undefined));
    await eventually('E5 has an entry again', async () => ((await entryOf(E5)) ? true : undefined));
    expect(await membersOf('vpn-users')).toContain(e2Dn.toLowerCase());
    for (const e of [E1, E4, E5]) await provisioned(e);
    const again = await reconcile();
    expect(brief(again)).toEqual({ 'orphan-account': 1, 'extra-entitlement': 1 });
  });
});
