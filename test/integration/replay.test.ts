// Replay of histories the real server produced: a joiner (with a sensitive entitlement whose
// approver never decides), a mover with a scheduled removal and a leaver; and a grant refused by
// its approval check beside one applied; a saga that deletes an account whose create answered
// `unchanged` on its retry (the first attempt's answer lost). Each runs on the dev server
// with stubbed activities, then replayed in process. Run with UPDATE_REPLAY_HISTORIES=1 to store
// each in test/replay/histories/ as a new shape, which test/replay/ then replays on every run
// without a server.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import protos from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import type { PlanStep } from '../../policy/planner.js';
import { workflowSourceOptions } from '../../runtime/workflows-path.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { uniqueName } from '../helpers/unique.js';
import { accessGranted } from '../../workflows/approval-messages.js';
import { runWorkers } from '../workflows/harness.js';
import { person, type Person } from '../workflows/people.js';
import { createStubActivities, type Stubs } from '../workflows/stub-activities.js';
import { existingServerOptions } from '../../clients/temporal-connection.js';

const { temporal } = protos;
const cfg = loadConfig();
const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');

/** A plan by event type, every step applied; the mover's removal waits a second. */
function plan(eventType: string, now: number): PlanStep[] {
  switch (eventType) {
    case 'hr.worker.hired':
      return [
        { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
        { key: 'grant/chat/all-staff', action: 'grant', app: 'chat', entitlementId: 'all-staff', reason: 'birthright' },
        { key: 'grant/chat/admins', action: 'grant', app: 'chat', entitlementId: 'admins', reason: 'birthright', approvals: ['privileged-access'] },
      ];
    case 'hr.worker.updated':
      return [
        { key: 'grant/chat/research', action: 'grant', app: 'chat', entitlementId: 'research', reason: 'birthright' },
        { key: 'revoke/chat/all-staff', action: 'revoke', app: 'chat', entitlementId: 'all-staff', reason: 'grace', after: 'PT1S', notBefore: new Date(now + 1000).toISOString(), fenced: 'revoke' },
      ];
    case 'hr.worker.terminated':
      return [{ key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver', fenced: 'disableAccount' }];
    default:
      return [];
  }
}

/**
 * Runs `body` with one person on the dev server and these stubbed activities, then keeps the
 * person's history (UPDATE_REPLAY_HISTORIES=1: as the shape `name`) and replays it in process.
 */
async function recordAndReplay(name: string, stubs: Stubs, body: (p: Person) => Promise<void>): Promise<void> {
  const env = await TestWorkflowEnvironment.createFromExistingServer(existingServerOptions(cfg));
  const taskQueue = uniqueName('replay');
  const p = person({ env, taskQueue }, uniqueName('R').replaceAll('.', ''));
  const history = await runWorkers(env.nativeConnection, { namespace: cfg.temporal.namespace, taskQueue, apps: ['chat'], stubs, workflows: workflowSourceOptions() }, async () => {
    await body(p);
    const fetched = await p.handle.fetchHistory();
    await p.handle.terminate('replay history captured');
    return fetched;
  });
  await env.teardown();
  expect(history.events?.length).toBeGreaterThan(10);
  store(history, name);
  await Worker.runReplayHistory(workflowSourceOptions(), history, p.handle.workflowId);
}

describe('workflow replay', () => {
  it('a joiner, mover and leaver history from the real server replays deterministically', async () => {
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input, now) => plan(input.eventType, now),
      // An approver who never decides: the sensitive step waits.
      chains: (s) => s.rules.map((rule) => ({ entitlement: s.entitlement, rule, reason: 'entitlement', mode: 'any-of', required: 1, slots: [{ label: 'security', eligible: ['S1'] }], timeoutMs: 3_600_000, onTimeout: 'reject' })),
    });
    await recordAndReplay('joiner-mover-leaver', stubs, async (p) => {
      await p.hr('hr.worker.hired', 1);
      await p.hr('hr.worker.updated', 2, { department: 'Research' });
      await p.until('the grace period to end', (s) => s.pendingEvents === 0 && s.status !== 'provisioning' && s.scheduled.length === 0);
      const final = await p.hr('hr.worker.terminated', 3, { status: 'terminated' });
      expect(final.status).toBe('deprovisioned');
      expect(final.awaitingApproval).toEqual([]);
    });
  });

  it('a history with a grant refused by its approval check and a grant applied replays deterministically', async () => {
    const stubs = createStubActivities({
      apps: ['chat'],
      plan: (input) => (input.eventType === 'hr.worker.hired' ? [{ key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' }] : input.eventType === 'itsm.access.requested' ? [{ key: 'grant/chat/admins', action: 'grant', app: 'chat', entitlementId: 'admins', reason: 'request' }] : []),
      checkGrant: (input) => (input.ticketId === 'FORGED-1' ? { verdict: 'refused', reason: 'no access request was assessed under ticket FORGED-1', policyVersion: 'sha256:stub' } : { verdict: 'approved', policyVersion: 'sha256:stub' }),
    });
    await recordAndReplay('grants-checked', stubs, async (p) => {
      await p.hr('hr.worker.hired', 1);
      const grant = { eventId: 'grant-1', requesterId: p.employeeId, app: 'chat', entitlementId: 'admins', approvalIds: ['req-T1.1.1'] };
      await p.handle.signal(accessGranted, { ...grant, ticketId: 'FORGED-1' });
      await p.until('the forged grant refused', (s) => (s.refusedGrants?.length ?? 0) === 1);
      await p.handle.signal(accessGranted, { ...grant, ticketId: 'T1' });
      await p.until('the real grant applied', () => stubs.held('chat', p.employeeId)?.entitlements.includes('admins') === true);
    });
  });

  it('a saga that keeps the undo of a create whose answer was lost replays deterministically (patch saga-undo-found-done)', async () => {
    const hired = plan('hr.worker.hired', 0).slice(0, 2).concat({ key: 'grant/chat/engineering', action: 'grant', app: 'chat', entitlementId: 'engineering', reason: 'birthright' });
    const stubs = createStubActivities({ apps: ['chat'], plan: () => hired, losesAnswer: (s) => s.action === 'ensureAccount', fails: (s) => s.key === 'grant/chat/engineering' });
    await recordAndReplay('saga-undo-found-done', stubs, async (p) => {
      expect((await p.hr('hr.worker.hired', 1)).status).toBe('failed');
      // The retried create said `unchanged`; the rollback deleted the account all the same.
      expect(stubs.held('chat', p.employeeId)).toBeUndefined();
    });
  });
});

/** With UPDATE_REPLAY_HISTORIES=1, keeps the history as a new shape for test/replay/. */
function store(history: Parameters<typeof temporal.api.history.v1.History.fromObject>[0], name: string): void {
  if (process.env.UPDATE_REPLAY_HISTORIES !== '1') return;
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(path.join(historiesDir, `identity-lifecycle-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, enums: String, bytes: String }), null, 1));
}
