// A sensitive birthright entitlement waits in the person's workflow for its approval: reminded
// after half a day, granted once approved, and never granted when nobody decides by the deadline.
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { approve } from '../../workflows/approval-messages.js';
import { DAY, HOUR, outcome, scenario, unique, until } from './harness.js';
import { person } from './people.js';
import { createStubActivities, type ChainSpec, type StubScript } from './stub-activities.js';

const SECURITY = 'SEC-1';

const script: StubScript = {
  apps: ['chat'],
  plan: (input): PlanStep[] =>
    input.eventType === 'hr.worker.hired'
      ? [
          { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
          { key: 'grant/chat/admins', action: 'grant', app: 'chat', entitlementId: 'admins', reason: 'birthright: on-call engineers', approvals: ['privileged-access'] },
        ]
      : [],
  chains: (s): ChainSpec[] =>
    s.rules.map((rule) => ({ entitlement: s.entitlement, rule, reason: 'entitlement', mode: 'any-of', required: 1, slots: [{ label: 'security', eligible: [SECURITY] }], reminderMs: 12 * HOUR, timeoutMs: 2 * DAY, onTimeout: 'reject' })),
};

describe("a sensitive birthright entitlement's approval gate", () => {
  it('is reminded, then granted once approved', async () => {
    const stubs = createStubActivities(script);
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('G'));
      const hired = await p.hr('hr.worker.hired', 1);
      expect(hired.awaitingApproval.map((a) => a.step.key)).toEqual(['grant/chat/admins']);
      const [approvalId] = hired.awaitingApproval[0]!.approvalIds!;

      await run.env.sleep(13 * HOUR);
      await until('the reminder', async () => stubs.approvalEvents.find((e) => e.kind === 'reminded'));
      await p.handle.executeUpdate(approve, { args: [{ approvalId: approvalId!, approverId: SECURITY, channel: 'api' }] });
      await p.until('the approved step to be applied', (s) => s.awaitingApproval.length === 0 && stubs.held('chat', p.employeeId)?.entitlements.includes('admins') === true);
      const approved = await outcome(stubs, 'the approval', (o) => o.eventType === 'provisioner.approval.decided');
      expect(approved.status).toBe('succeeded');
      expect(approved.reason).toBe(`approved: ${approvalId}`);
    });
  });

  it('is rejected when nobody decides by the deadline, and the entitlement is never granted', async () => {
    const stubs = createStubActivities(script);
    await scenario({ apps: ['chat'], stubs }, async (run) => {
      const p = person(run, unique('G'));
      await p.hr('hr.worker.hired', 1);

      await run.env.sleep(2 * DAY - HOUR);
      expect((await p.state()).awaitingApproval).toHaveLength(1);
      await run.env.sleep(2 * HOUR);
      await p.until('the gate to close', (s) => s.awaitingApproval.length === 0);
      const rejected = await outcome(stubs, 'the gate', (o) => o.eventType === 'provisioner.approval.decided');
      expect(rejected.status).toBe('rejected');
      expect(rejected.reason).toMatch(/not decided by its deadline/);
      expect(stubs.approvalEvents.at(-1)).toMatchObject({ kind: 'closed', status: 'expired' });
      expect(stubs.connectorCalls().filter((c) => c.action === 'grant')).toEqual([]);
    });
  });
});
