// Access requests on policy time: the approval chain reminds its approvers after a day, lets the
// escalation approver decide after three, and rejects at its five-day deadline; an approved grant
// with an end is revoked by the person's workflow when it ends. Days pass in seconds.
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import type { accessRequest } from '../../workflows/access-request.js';
import { accessGranted, accessRequestWorkflowId, approve, getRequestState, type DecisionRequest, type RequestState } from '../../workflows/approval-messages.js';
import { DAY, HOUR, outcome, scenario, unique, until, type Scenario } from './harness.js';
import { person } from './people.js';
import { createStubActivities, type ChainSpec, type RequestAssessment, type StubScript } from './stub-activities.js';

const MANAGER = 'MGR-1';
const SECURITY = 'SEC-1';

/** Chat admin rights: the manager approves; reminded after a day, escalated to security after three, rejected after five. */
const adminChain: ChainSpec = {
  entitlement: 'chat:admins',
  rule: 'admin-access',
  reason: 'entitlement',
  mode: 'any-of',
  required: 1,
  slots: [{ label: 'manager', eligible: [MANAGER] }],
  reminderMs: DAY,
  escalation: { afterMs: 3 * DAY, slot: { label: 'security', eligible: [SECURITY] } },
  timeoutMs: 5 * DAY,
  onTimeout: 'reject',
};

const account: PlanStep = { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' };
const admins = (action: 'grant' | 'revoke'): PlanStep => ({ key: `${action}/chat/admins`, action, app: 'chat', entitlementId: 'admins', reason: action === 'grant' ? 'request' : 'request ended' });

/** A hire gets a chat account; an approved request grants admin rights; its expiry revokes them. */
const script = (assessment: Partial<Extract<RequestAssessment, { verdict: 'approval' }>> = {}): StubScript => ({
  apps: ['chat'],
  plan: (input) => {
    if (input.eventType === 'hr.worker.hired') return [account];
    if (input.eventType === 'itsm.access.requested') return [admins('grant')];
    if (input.eventType === 'provisioner.grant.expired') return [admins('revoke')];
    return [];
  },
  assess: () => ({ verdict: 'approval', chains: [adminChain], policyVersion: 'sha256:stub', notes: [], alreadyHeld: false, ...assessment }),
});

/** Files a request for chat admin rights for `beneficiaryId`, as the ITSM ingress does. */
async function fileRequest(run: Scenario, beneficiaryId: string) {
  const ticketId = unique('T');
  const handle = await run.env.client.workflow.start<typeof accessRequest>('accessRequest', {
    workflowId: accessRequestWorkflowId(ticketId),
    taskQueue: run.taskQueue,
    args: [{ ticketId, requesterId: 'REQ-1', beneficiaryId, app: 'chat', entitlementId: 'admins', justification: 'on call', eventId: `itsm-${ticketId}`, source: 'urn:itsm:test', time: new Date().toISOString() }],
  });
  const state = () => handle.query(getRequestState);
  const awaiting = await until('the request to await approval', async () => ((await state()).status === 'awaiting-approval' ? state() : undefined));
  const decide = (approverId: string) => handle.executeUpdate(approve, { args: [{ approvalId: `req-${ticketId}.1.1`, approverId, channel: 'api' } satisfies DecisionRequest] });
  return { ticketId, handle, state, awaiting, decide };
}

const refusalCode = (err: unknown) => (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? (err.cause.details?.[0] as { code?: string } | undefined)?.code : undefined);

describe('approval chains on policy time', () => {
  it('reminds the approvers once the reminder time has passed, not before', async () => {
    const stubs = createStubActivities(script());
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const request = await fileRequest(run, unique('B'));
      expect(stubs.approvalEvents.map((e) => e.kind)).toEqual(['opened']);

      await run.env.sleep(DAY - HOUR);
      expect(stubs.approvalEvents.map((e) => e.kind)).toEqual(['opened']);
      await run.env.sleep(2 * HOUR);
      const reminded = await until('the reminder', async () => stubs.approvalEvents.find((e) => e.kind === 'reminded'));
      expect(reminded).toMatchObject({ kind: 'reminded', approvalId: `req-${request.ticketId}.1.1`, eligible: [MANAGER] });
      expect((await request.state()).status).toBe('awaiting-approval');
    });
  });

  it('lets the escalation approver decide only after the escalation time, and the request is granted', async () => {
    const stubs = createStubActivities(script());
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('B'));
      await p.hr('hr.worker.hired', 1);
      const request = await fileRequest(run, p.employeeId);

      // Before the escalation, security is not an approver of this request.
      await run.env.sleep(3 * DAY - HOUR);
      expect(refusalCode(await request.decide(SECURITY).catch((err: unknown) => err))).toBe('not-eligible');
      expect(stubs.approvalEvents.some((e) => e.kind === 'escalated')).toBe(false);

      await run.env.sleep(2 * HOUR);
      const escalated = await until('the escalation', async () => stubs.approvalEvents.find((e) => e.kind === 'escalated'));
      expect(escalated).toMatchObject({ eligible: [MANAGER, SECURITY].sort() });
      const decided = await request.decide(SECURITY);
      expect(decided).toMatchObject({ status: 'approved', gateStatus: 'approved' });

      const final: RequestState = await request.handle.result();
      expect(final.status).toBe('granted');
      await p.until('the grant to be applied', () => stubs.held('chat', p.employeeId)?.entitlements.includes('admins') === true);
    });
  });

  it('rejects a request nobody decided at its deadline, days later, in seconds', async () => {
    const stubs = createStubActivities(script());
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const startedAt = await run.env.currentTimeMs();
      const request = await fileRequest(run, unique('B'));

      // Awaiting the result lets the server skip to each timer: the reminder, the escalation, the deadline.
      const final: RequestState = await request.handle.result();
      expect(final.status).toBe('expired');
      expect((await run.env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(5 * DAY);
      expect(stubs.approvalEvents.map((e) => e.kind)).toEqual(['opened', 'reminded', 'escalated', 'closed']);
      expect(stubs.approvalEvents.at(-1)).toMatchObject({ kind: 'closed', status: 'expired' });
      const rejected = await outcome(stubs, 'the request', (o) => o.ticketId === request.ticketId);
      expect(rejected.status).toBe('rejected');
      expect(rejected.reason).toMatch(/not decided by its deadline/);
    });
  });

  it('revokes a time-bound grant when it ends, not before', async () => {
    const stubs = createStubActivities(script({ durationMs: 8 * HOUR }));
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('B'));
      await p.hr('hr.worker.hired', 1);
      const request = await fileRequest(run, p.employeeId);
      await request.decide(MANAGER);
      const { expiresAt } = await request.handle.result();
      expect(expiresAt).toBeDefined();
      const granted = await p.until('the grant to be applied with its end', (s) => s.grants?.length === 1 && stubs.held('chat', p.employeeId)?.entitlements.includes('admins') === true);
      expect(granted.grants).toEqual([{ ticketId: request.ticketId, app: 'chat', entitlementId: 'admins', expiresAt }]);

      await run.env.sleep(7 * HOUR);
      expect(stubs.connectorCalls().filter((c) => c.action === 'revoke')).toEqual([]);

      await run.env.sleep(2 * HOUR);
      await p.until('the grant to end', (s) => (s.grants ?? []).length === 0);
      const revokes = stubs.connectorCalls().filter((c) => c.action === 'revoke');
      expect(revokes.map((c) => c.key)).toEqual(['revoke/chat/admins']);
      expect(revokes[0]!.at).toBeGreaterThanOrEqual(Date.parse(expiresAt!));
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual([]);
      const ended = await outcome(stubs, 'the expiry', (o) => o.eventType === 'provisioner.grant.expired');
      expect(ended).toMatchObject({ status: 'succeeded', ticketId: request.ticketId });
    });
  });
  it('refuses a grant signalled without the approvals its ticket needs: nothing recorded or applied, shown in getState and the outcome', async () => {
    const stubs = createStubActivities({
      ...script(),
      // The store holds approvals only for tickets whose request ran: the forged ticket has none.
      checkGrant: (input) => (input.ticketId === 'FORGED-1' ? { verdict: 'refused', reason: 'no access request for chat:admins was assessed under ticket FORGED-1', policyVersion: 'sha256:stub' } : { verdict: 'approved', policyVersion: 'sha256:stub' }),
    });
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('B'));
      await p.hr('hr.worker.hired', 1);
      await p.until('the hire applied', (s) => s.status === 'provisioned');
      const forged = { ticketId: 'FORGED-1', eventId: 'forged-1', requesterId: p.employeeId, app: 'chat', entitlementId: 'admins', approvalIds: ['req-FORGED-1.1.1'] };
      await p.handle.signal(accessGranted, forged);
      const refused = await p.until('the grant refused', (s) => (s.refusedGrants?.length ?? 0) > 0);
      expect(refused.refusedGrants).toEqual([{ ticketId: 'FORGED-1', eventId: 'forged-1', app: 'chat', entitlementId: 'admins', reason: expect.stringMatching(/no access request/), at: expect.any(String) }]);
      expect(stubs.calls.filter((c) => c.activity === 'recordRequestGrant')).toEqual([]);
      expect(stubs.connectorCalls().filter((c) => c.action === 'grant')).toEqual([]);
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual([]);
      const outcomeOfForged = await outcome(stubs, 'the refusal', (o) => o.ticketId === 'FORGED-1');
      expect(outcomeOfForged).toMatchObject({ status: 'rejected', steps: [{ app: 'chat', action: 'grant', outcome: 'rejected', entitlementId: 'admins' }] });
      expect(outcomeOfForged.reason).toMatch(/grant refused: no access request/);

      // The real request's grant, checked the same way, is applied.
      const request = await fileRequest(run, p.employeeId);
      await request.decide(MANAGER);
      await p.until('the real grant applied', () => stubs.held('chat', p.employeeId)?.entitlements.includes('admins') === true);
      expect(stubs.calls.filter((c) => c.activity === 'checkRequestGrant')).toHaveLength(2);
    });
  });
});
