// Retention and crypto-shredding: after a purge, nothing personal about the person can be read
// anywhere in the store (every table, clear or hex-encoded), and the audit chain still verifies.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerSnapshot } from '../../../schemas/events.js';
import { recordAccount } from '../../../store/accounts.js';
import { applyApprovalEvent } from '../../../store/approval-gates.js';
import { openApproval } from '../../../store/approvals.js';
import { queryAudit } from '../../../store/audit-query.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { outcomeAuditEntry, recordOutcome, recordPlan } from '../../../store/changes.js';
import { addGrant } from '../../../store/grants.js';
import { getIdentity, upsertIdentity } from '../../../store/identities.js';
import { personKey } from '../../../store/person-keys.js';
import { findingKey } from '../../../policy/drift.js';
import { askFencePermit } from '../../../store/fence.js';
import { createRun, storeFindings, storePage, updateOpenFindings } from '../../../store/reconcile.js';
import { purgeExpiredPersons } from '../../../store/retention.js';
import { createTestStore, type TestStore } from './test-store.js';

const tag = randomBytes(4).toString('hex');
const leaver = { employeeId: `LEAVER${tag}`, givenName: `Zebedee${tag}`, familyName: `Quixotic${tag}`, email: `zq${tag}@example.com`, dn: `uid=zq${tag},ou=people` };
const recent = { employeeId: `RECENT${tag}`, givenName: `Ophelia${tag}`, familyName: `Recent${tag}`, email: `or${tag}@example.com` };
const keeper = { employeeId: `KEEPER${tag}`, givenName: `Kept${tag}`, familyName: `Around${tag}`, email: `ka${tag}@example.com` };
const comment = `Approved for Zebedee${tag}, see chat with the manager`;

const DAY = 86_400_000;
const now = new Date();
const daysAgo = (d: number): string => new Date(now.getTime() - d * DAY).toISOString();

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('retention');
});
afterAll(async () => {
  await t?.drop();
});

function snapshot(p: { employeeId: string; givenName: string; familyName: string; email: string }, sequence: number, extra: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { employeeId: p.employeeId, sequence, effectiveAt: daysAgo(800), status: 'active', givenName: p.givenName, familyName: p.familyName, email: p.email, department: 'Finance', ...extra };
}

/** A person's whole life in the store: snapshot, accounts, a grant, an approval, a plan and outcome, audit records. */
async function liveAndLeave(p: typeof leaver | typeof recent | typeof keeper, terminatedDaysAgo: number | undefined): Promise<void> {
  const { store } = t;
  const workflowId = `identity/${p.employeeId}`;
  const system = { type: 'system', id: 'identity-workflow' } as const;
  await store.change(
    (tx) => upsertIdentity(tx, snapshot(p, 1)),
    { actor: system, action: 'identity.snapshot-stored', reason: 'hired', subject: { employeeId: p.employeeId }, workflowId, eventId: `${p.employeeId}-1`, personal: { email: p.email, name: `${p.givenName} ${p.familyName}` } },
  );
  const account = 'dn' in p ? p.dn : `uid=${p.email}`;
  await store.change(
    (tx) => recordAccount(tx, { employeeId: p.employeeId, app: 'ldap', accountId: account, status: 'active' }),
    { actor: system, action: 'account.recorded', reason: 'account created', subject: { employeeId: p.employeeId }, workflowId, changes: [{ op: 'ensureAccount', app: 'ldap', outcome: 'created', account }] },
  );
  await store.change(
    (tx) => openApproval(tx, { approvalId: `appr-${p.employeeId}`, beneficiaryId: p.employeeId, ticketId: `T-${tag}`, app: 'erp', entitlementId: 'role:payments', approverRule: 'manager' }),
    { actor: system, action: 'approval.opened', reason: 'sensitive entitlement', subject: { employeeId: p.employeeId }, changes: [{ op: 'request', app: 'erp', entitlement: 'role:payments' }] },
  );
  await store.change(
    (tx) => applyApprovalEvent(tx, { workflowId, beneficiaryId: p.employeeId }, {
      kind: 'decided', approvalId: `appr-${p.employeeId}`, status: 'approved', approvals: 1, required: 1,
      vote: { approverId: `MGR${tag}`, decision: 'approved', comment, channel: 'api', at: new Date().toISOString() },
    }),
    { actor: { type: 'person', employeeId: `MGR${tag}` }, action: 'approval.decided', reason: 'approved', subject: { employeeId: p.employeeId }, personal: { comment } },
  );
  await store.change(
    (tx) => addGrant(tx, { employeeId: p.employeeId, app: 'erp', entitlementId: 'role:payments', provenance: { kind: 'request', ticketId: `T-${tag}`, approvalId: `appr-${p.employeeId}` } }),
    { actor: system, action: 'grant.added', reason: 'approved request', subject: { employeeId: p.employeeId }, changes: [{ op: 'grant', app: 'erp', entitlement: 'role:payments' }] },
  );
  const outcome = {
    changeId: `${workflowId}/${p.employeeId}-1`, employeeId: p.employeeId, eventId: `${p.employeeId}-1`, eventType: 'hr.worker.hired', sequence: 1,
    status: 'succeeded' as const, policyVersion: 'policy-1', workflowId, completedAt: daysAgo(800),
    steps: [{ app: 'ldap', action: 'ensureAccount', outcome: 'created' as const, accountId: account, detail: `created ${p.email}` }],
  };
  await store.change(
    (tx) => recordPlan(tx, { changeId: outcome.changeId, employeeId: p.employeeId, eventId: outcome.eventId, sequence: 1, policyVersion: 'policy-1', steps: [{ app: 'ldap', action: 'ensureAccount', userName: p.email }] }),
    { actor: system, action: 'plan.recorded', reason: 'planned', subject: { employeeId: p.employeeId } },
  );
  await store.change((tx) => recordOutcome(tx, outcome), (r) => (r.created ? outcomeAuditEntry(outcome) : null));
  // Their leaver's disable asked the fence, and a reconciliation saw their account (rows that name them by employee id and account id).
  const fenceId = `fence/retention-${tag}`;
  await askFencePermit(store, {
    fenceId, budget: 'default', requestId: `${workflowId}/${p.employeeId}-2`, workflowId, employeeId: p.employeeId, source: 'workday',
    steps: [{ key: `disableAccount/ldap`, app: 'ldap', action: 'disableAccount' }], limits: {}, windowMs: 60_000, releasesRequired: 1,
  });
  const runId = `reconcile/ldap/retention-${tag}/${randomBytes(4).toString('hex')}`;
  await createRun(store.pool, { runId, app: 'ldap', dryRun: false, policyVersion: 'policy-1' });
  await storePage(store.pool, { runId, pageNo: 1, accounts: [{ accountId: account, externalId: p.employeeId, active: true, entitlements: [] }] });
  const finding = { app: 'ldap', kind: 'extra-entitlement' as const, employeeId: p.employeeId, accountId: account, entitlementId: 'vpn', detail: 'holds vpn', remediation: 'report' };
  const findings = [{ ...finding, key: findingKey(finding) }];
  await storeFindings(store.pool, runId, findings);
  await updateOpenFindings(store.pool, { app: 'ldap', runId, findings, complete: false });
  if (terminatedDaysAgo !== undefined) {
    await store.change(
      (tx) => upsertIdentity(tx, snapshot(p, 2, { status: 'terminated', effectiveAt: daysAgo(terminatedDaysAgo) })),
      { actor: system, action: 'identity.snapshot-stored', reason: 'terminated', subject: { employeeId: p.employeeId }, workflowId },
    );
  }
}

/** Every row of every table in the test's schema, as text (bytea shows as hex). */
async function dumpSchema(): Promise<string> {
  const { rows: tables } = await t.store.pool.query<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`,
    [t.schema],
  );
  expect(tables.length).toBeGreaterThanOrEqual(12);
  const parts: string[] = [];
  for (const { table_name: table } of tables) {
    // Identifiers from the catalogue of our own schema; quoted for safety.
    const { rows } = await t.store.pool.query(`select t::text as row from "${t.schema}"."${table}" t`);
    parts.push(...rows.map((r) => `${table}: ${r.row}`));
  }
  return parts.join('\n');
}

const canaries = (p: Record<string, string>): string[] => Object.values(p).flatMap((v) => [v, Buffer.from(v).toString('hex')]);

describe('retention purge', () => {
  it('purges a person terminated longer ago than the retention period: nothing personal remains and the chain verifies', async () => {
    await liveAndLeave(leaver, 400);
    await liveAndLeave(recent, 10);
    await liveAndLeave(keeper, undefined);
    const before = await dumpSchema();
    // The dump does see personal data while it exists (the employee id is stored in clear).
    expect(before).toContain(leaver.employeeId);
    const leaverId = (await getIdentity(t.store.pool, t.store.keys.kek, leaver.employeeId))!.personId;
    expect((await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: leaver.employeeId })).length).toBeGreaterThanOrEqual(7);

    const { purged } = await purgeExpiredPersons(t.store, { retentionDays: 365, now });
    expect(purged).toEqual([leaverId]);

    const after = await dumpSchema();
    for (const canary of [...canaries(leaver), ...canaries({ comment })]) expect(after).not.toContain(canary);
    // The others are untouched: the one terminated recently is within retention, the keeper is active.
    expect(after).toContain(recent.employeeId);
    expect(after).toContain(keeper.employeeId);
    expect(await personKey(t.store.pool, t.store.keys.kek, leaverId)).toBeUndefined();

    // The records about them remain (pseudonymous, sealed parts unreadable), and so does the chain.
    const records = await queryAudit(t.store.pool, t.store.keys.kek, { limit: 1000 });
    const theirs = records.filter((r) => r.subject === leaverId);
    expect(theirs.length).toBeGreaterThanOrEqual(8);
    expect(theirs.filter((r) => r.action !== 'identity.purged').every((r) => r.sealedUnreadable && r.subjectEmployeeId === undefined)).toBe(true);
    expect(theirs.find((r) => r.action === 'identity.purged')).toMatchObject({ actor: 'system:retention', sealedUnreadable: false });
    expect(JSON.stringify(theirs)).not.toContain(leaver.email);
    expect(await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: leaver.employeeId })).toEqual([]);
    // The keeper's records still open.
    const kept = await queryAudit(t.store.pool, t.store.keys.kek, { employeeId: keeper.employeeId, limit: 100 });
    expect(kept.some((r) => r.personal?.email === keeper.email)).toBe(true);

    const verified = await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier });
    expect(verified).toMatchObject({ ok: true, verified: records.length });

    // A second run finds nothing more to purge.
    expect((await purgeExpiredPersons(t.store, { retentionDays: 365, now })).purged).toEqual([]);
  });
});
