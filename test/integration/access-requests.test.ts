// Access requests on the real stack: the policy assesses, approvers decide through the approve /
// reject updates (refusals audited where they were received), escalation and deadlines run on real
// timers with test-sized durations, and an approved grant is applied in the SCIM app and revoked
// there at its end time. Sensitive birthright entitlements wait for the same kind of approval.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { decideApproval, recordVerifiedDecision } from '../../clients/approvals.js';
import { queryAudit } from '../../store/index.js';
import { accessRequestWorkflowId, getApprovals, getRequestState, type AccessRequestInput } from '../../workflows/approval-messages.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { TicketId, EmployeeId } from '../../workflows/search-attributes.js';
import { outcomeSchema, type Outcome } from '../../schemas/outcomes.js';
import { groupNamesOf } from '../helpers/groups.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { hrAttributesYaml } from '../helpers/policy-yaml.js';

const id = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const MANAGER = id('M');
const OWNER = id('O');
const OWNER2 = id('O');
const SECURITY = id('S');
const HELPDESK = id('H');

/** A small policy with test-sized durations, its approver groups naming this file's people. */
function writeApprovalsPolicy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-approvals-'));
  writeFileSync(
    path.join(dir, 'policy.yaml'),
    `
${hrAttributesYaml}
approverGroups:
  - { id: chat-owners, members: [${OWNER}, ${OWNER2}] }
  - { id: security, members: [${SECURITY}] }
  - { id: helpdesk, members: [${HELPDESK}] }
approvals:
  - { id: manager-then-owner, mode: sequential, approvers: [manager, app-owner], timeout: PT60S }
  - id: quick-manager
    mode: any-of
    approvers: [manager]
    timeout: PT6S
    reminder: PT1S
    escalation: { after: PT2S, to: "group:helpdesk" }
  - { id: security-review, mode: any-of, approvers: [security], timeout: PT60S }
applications:
  - id: chat
    connector: scim
    config: chat
    owner: chat-owners
    classification: internal
    entitlements:
      - { id: all-staff }
      - { id: incident-commanders, sensitivity: high, approval: manager-then-owner, maxDuration: PT30S }
      - { id: deadline-room, approval: quick-manager }
      - { id: refund-issuers }
      - { id: refund-approvers, approval: manager-then-owner }
      - { id: release-authors }
      - { id: release-approvers, approval: quick-manager }
      - { id: on-call, sensitivity: high, approval: manager-then-owner }
roles:
  - { id: staff, entitlements: [chat:all-staff] }
  - { id: cashier, inherits: [staff], entitlements: [chat:refund-issuers] }
  - { id: releaser, inherits: [staff], entitlements: [chat:release-authors] }
  - { id: sre, inherits: [staff], entitlements: [chat:on-call] }
birthright:
  - { id: everyone, when: 'employmentType == "employee"', roles: [staff] }
  - { id: cashiers, when: 'title == "Cashier"', roles: [cashier] }
  - { id: releasers, when: 'title == "Release Engineer"', roles: [releaser] }
  - { id: sres, when: 'title == "SRE"', roles: [sre] }
separationOfDuties:
  - { id: refunds-maker-checker, severity: block, entitlements: [chat:refund-issuers, chat:refund-approvers] }
  - { id: release-four-eyes, severity: review, entitlements: [chat:release-authors, chat:release-approvers], approval: security-review }
lifecycle: { moverGracePeriod: PT5S, leaverDeletionDelay: PT30S, personalDataRetention: P2Y, onLeave: keep }
`,
  );
  return dir;
}

let p: Pipeline;
let catalog: EntitlementCatalog;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'], policyDir: writeApprovalsPolicy() });
  catalog = new EntitlementCatalog(p.worker.connectors);
  // The approvers are people too: the store knows them by their HR snapshots.
  await p.produce([MANAGER, OWNER, OWNER2, SECURITY, HELPDESK].map((e) => ({ key: e, value: JSON.stringify(hrEvent(e, { data: { title: 'Approver' } })) })));
}, 120_000);
afterAll(async () => {
  await p?.close();
});

const groupsOf = (employeeId: string) => groupNamesOf(p, catalog, 'chat', employeeId);

/** Hires a person managed by MANAGER and waits until they are provisioned. */
async function hire(title = 'Engineer'): Promise<string> {
  const employeeId = id('B');
  await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId, { data: { title, managerId: MANAGER } })) }]);
  await eventually(`${employeeId} provisioned`, async () => {
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState).catch(() => undefined);
    return state && state.lastAppliedSequence >= 1 && state.status !== 'provisioning' ? state : undefined;
  });
  return employeeId;
}

async function request(beneficiaryId: string, entitlementId: string, options: { requesterId?: string; duration?: string } = {}) {
  const ticketId = id('CHG');
  const input: AccessRequestInput = {
    ticketId,
    // People ask for their own access unless a test says otherwise.
    requesterId: options.requesterId ?? beneficiaryId,
    beneficiaryId,
    app: 'chat',
    entitlementId,
    justification: 'needed for the incident rota',
    ...(options.duration ? { duration: options.duration } : {}),
    eventId: `${ticketId}-requested`,
    source: 'urn:itsm:test',
    time: new Date().toISOString(),
  };
  const handle = await p.ingress.client.workflow.start('accessRequest', {
    workflowId: accessRequestWorkflowId(ticketId),
    taskQueue: p.taskQueue,
    args: [input],
    typedSearchAttributes: [
      { key: EmployeeId, value: beneficiaryId },
      { key: TicketId, value: ticketId },
    ],
  });
  return { ticketId, handle };
}

async function pendingApproval(handle: WorkflowHandle, approvalId: string) {
  return eventually(`${approvalId} pending`, async () => {
    const views = await handle.query(getApprovals).catch(() => []);
    return views.find((v) => v.approvalId === approvalId && v.status === 'pending');
  });
}

/** A decision as the API takes it once the approver's token is verified: recorded as verified, then sent. */
async function decide(kind: 'approve' | 'reject', approvalId: string, approverId: string, updateId?: string) {
  const request = { approvalId, approverId, channel: 'api' as const, comment: 'ok from the test' };
  await recordVerifiedDecision(p.store, kind, request, { source: 'api', tokenSubject: approverId }, updateId ? `${updateId}#verified` : undefined);
  return decideApproval({ client: p.ingress.client, store: p.store }, kind, request, updateId ? { updateId } : {});
}

async function outcomesOf(ticketId: string): Promise<Outcome[]> {
  return (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => outcomeSchema.parse(JSON.parse(m.value))).filter((o) => o.ticketId === ticketId);
}

describe('access requests', () => {
  it('an approved request is granted in the app, then revoked there at its end time', async () => {
    const employeeId = await hire();
    const { ticketId, handle } = await request(employeeId, 'incident-commanders', { duration: 'PT8S' });
    await pendingApproval(handle, `req-${ticketId}.1.1`);
    expect((await decide('approve', `req-${ticketId}.1.1`, MANAGER)).ok).toBe(true);
    await pendingApproval(handle, `req-${ticketId}.1.2`);
    const owner = await decide('approve', `req-${ticketId}.1.2`, OWNER);
    expect(owner).toMatchObject({ ok: true, result: { status: 'approved', gateStatus: 'approved' } });
    const state = await handle.result();
    expect(state.status).toBe('granted');
    await eventually('the grant in the app', async () => ((await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined));
    // The outcome carries the ticket id, so the ITSM can update its ticket.
    const granted = await eventually('the grant outcome', async () => (await outcomesOf(ticketId)).find((o) => o.eventType === 'itsm.access.requested' && o.status === 'succeeded'));
    expect(granted.steps).toContainEqual(expect.objectContaining({ action: 'grant', entitlementId: 'incident-commanders', outcome: 'applied' }));
    // At its end time the identity workflow revokes it in the app.
    await eventually('the revoke at the end time', async () => (!(await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined), 40_000);
    const expired = await eventually('the expiry outcome', async () => (await outcomesOf(ticketId)).find((o) => o.eventType === 'provisioner.grant.expired'));
    expect(expired.steps).toContainEqual(expect.objectContaining({ action: 'revoke', entitlementId: 'incident-commanders' }));
    // Every decision is audited with its approver.
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, limit: 200 });
    expect(audit.filter((r) => r.action.startsWith('approval.')).map((r) => `${r.action} ${r.actorEmployeeId ?? r.actor}`).sort()).toEqual([`approval.approved ${MANAGER}`, `approval.approved ${OWNER}`, 'approval.opened system:approval-gate', 'approval.opened system:approval-gate'].sort());
  }, 120_000);

  it('the requester, the beneficiary and an ineligible person are refused before anything enters history, and audited', async () => {
    const employeeId = await hire();
    const { ticketId, handle } = await request(employeeId, 'incident-commanders', { requesterId: OWNER });
    const first = `req-${ticketId}.1.1`;
    await pendingApproval(handle, first);
    const historyBefore = (await handle.fetchHistory()).events?.length ?? 0;
    expect(await decide('approve', first, employeeId)).toMatchObject({ ok: false, code: 'beneficiary' });
    expect(await decide('approve', first, SECURITY)).toMatchObject({ ok: false, code: 'not-eligible' });
    await decide('approve', first, MANAGER);
    const second = `req-${ticketId}.1.2`;
    await pendingApproval(handle, second);
    // The owner asked for it: they cannot approve it, though they own the app.
    expect(await decide('approve', second, OWNER)).toMatchObject({ ok: false, code: 'requester' });
    const refused = await queryAudit(p.store.pool, p.store.keys.kek, { limit: 500 });
    const mine = refused.filter((r) => r.action === 'approval.refused' && r.workflowId === accessRequestWorkflowId(ticketId));
    expect(mine.map((r) => r.actorEmployeeId).sort()).toEqual([employeeId, OWNER, SECURITY].sort());
    // Refused updates left no trace in the workflow's history: only the manager's accepted one did.
    const history = (await handle.fetchHistory()).events ?? [];
    const updates = history.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1);
    expect(history.length).toBeGreaterThan(historyBefore);
    expect(await handle.query(getRequestState)).toMatchObject({ status: 'awaiting-approval' });
  }, 120_000);

  it('a duplicate decision changes nothing', async () => {
    const employeeId = await hire();
    const { ticketId, handle } = await request(employeeId, 'incident-commanders');
    const first = `req-${ticketId}.1.1`;
    await pendingApproval(handle, first);
    const a = await decide('approve', first, MANAGER, 'evt-1');
    const b = await decide('approve', first, MANAGER, 'evt-1');
    expect(b).toEqual(a);
    // Another delivery of the same decision under a new id is refused as already decided.
    expect(await decide('approve', first, MANAGER, 'evt-2')).toMatchObject({ ok: false, code: 'already-voted' });
    const views = await handle.query(getApprovals);
    expect(views.find((v) => v.approvalId === first)?.votes).toHaveLength(1);
  }, 120_000);

  it('an undecided approval is reminded, escalated to the helpdesk, and rejected at its deadline', async () => {
    const employeeId = await hire();
    const { ticketId, handle } = await request(employeeId, 'deadline-room');
    const state = await handle.result();
    expect(state.status).toBe('expired');
    const outcome = await eventually('the rejected outcome', async () => (await outcomesOf(ticketId)).find((o) => o.status === 'rejected'));
    expect(outcome.reason).toContain('not decided by its deadline');
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, limit: 200 });
    const actions = audit.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['approval.opened', 'approval.reminded', 'approval.escalated', 'approval.expired']));
    expect(await groupsOf(employeeId)).not.toContain('deadline-room');
  }, 120_000);

  it('after escalation the helpdesk may approve instead of the manager', async () => {
    const employeeId = await hire();
    const { ticketId, handle } = await request(employeeId, 'deadline-room');
    const approvalId = `req-${ticketId}.1.1`;
    await pendingApproval(handle, approvalId);
    expect(await decide('approve', approvalId, HELPDESK)).toMatchObject({ ok: false, code: 'not-eligible' });
    await eventually('the escalation', async () => ((await handle.query(getApprovals)).find((v) => v.approvalId === approvalId)?.escalated ? true : undefined));
    expect((await decide('approve', approvalId, HELPDESK)).ok).toBe(true);
    expect((await handle.result()).status).toBe('granted');
    await eventually('the grant in the app', async () => ((await groupsOf(employeeId)).includes('deadline-room') ? true : undefined));
  }, 120_000);

  it('a blocking separation-of-duties conflict blocks the request', async () => {
    const cashier = await hire('Cashier');
    const { ticketId, handle } = await request(cashier, 'refund-approvers');
    const state = await handle.result();
    expect(state.status).toBe('blocked');
    expect(state.reasons.join(' ')).toContain('refunds-maker-checker');
    const outcome = await eventually('the blocked outcome', async () => (await outcomesOf(ticketId)).find((o) => o.status === 'blocked'));
    expect(outcome.employeeId).toBe(cashier);
  }, 120_000);

  it('a review separation-of-duties conflict routes the request to the extra approval', async () => {
    const releaser = await hire('Release Engineer');
    const { ticketId, handle } = await request(releaser, 'release-approvers');
    const views = await eventually('both approvals open', async () => {
      const v = await handle.query(getApprovals);
      return v.length >= 2 ? v : undefined;
    });
    expect(views.map((v) => v.rule).sort()).toEqual(['quick-manager', 'security-review']);
    for (const v of views) await decide('approve', v.approvalId, v.rule === 'security-review' ? SECURITY : MANAGER);
    expect((await handle.result()).status).toBe('granted');
    expect(ticketId).toBeTruthy();
  }, 120_000);

  it('a sensitive birthright entitlement waits for approval by approval id, then is granted', async () => {
    const sre = await hire('SRE');
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(sre));
    const waiting = await eventually('the gated step', async () => {
      const s = await handle.query(getState);
      return s.awaitingApproval.find((a) => a.step.entitlementId === 'on-call' && a.approvalIds?.length) ?? undefined;
    });
    expect(await groupsOf(sre)).not.toContain('on-call');
    const first = waiting.approvalIds![0]!;
    expect(first).toMatch(new RegExp(`^idn-${sre}-\\d+\\.1\\.1$`));
    expect(await decide('approve', first, sre)).toMatchObject({ ok: false, code: 'beneficiary' });
    expect((await decide('approve', first, MANAGER)).ok).toBe(true);
    const second = first.replace(/\.1$/, '.2');
    await eventually('the owner stage', async () => ((await handle.query(getApprovals)).some((v) => v.approvalId === second && v.status === 'pending') ? true : undefined));
    expect((await decide('approve', second, OWNER)).ok).toBe(true);
    await eventually('on-call granted', async () => ((await groupsOf(sre)).includes('on-call') ? true : undefined));
  }, 120_000);
});
