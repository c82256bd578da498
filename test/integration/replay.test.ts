// Replay: the workflow code must replay every history shape it has produced. Stored histories in
// test/replay-histories/ are replayed on every run (a change that breaks determinism fails here;
// guard it with patched()). A fresh history of a joiner, a mover with a scheduled removal and a
// leaver is produced on the real server with stubbed activities and replayed too; run with
// UPDATE_REPLAY_HISTORIES=1 to store it as a new shape.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { HistoryAndWorkflowId } from '@temporalio/common';
import protos from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import type { ApplyStepInput, Plan, PlanChangeInput, StepResult } from '../../activities/lifecycle-types.js';
import { workflowsPath } from '../../runtime/workflows-path.js';
import type { ChainSpec } from '../../workflows/approval-chain.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { getState, hrEventReceived, identityWorkflowId, type HrEventReceived } from '../../workflows/messages.js';
import { STEP_ACTIVITY_TYPES } from '../../workflows/connector-activities.js';
import { appTaskQueue, urgentAppTaskQueue } from '../../workflows/task-queues.js';
import { hrEvent } from '../helpers/hr-events.js';
import { uniqueName } from '../helpers/unique.js';

const { temporal } = protos;
const cfg = loadConfig();
const historiesDir = path.join(projectRoot, 'test', 'replay-histories');

/** Stub activities: a plan by event type, every step applied. Replays need shapes, not servers. */
function stubActivities() {
  const plans: Record<string, Plan['steps']> = {
    'hr.worker.hired': [
      { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
      { key: 'grant/chat/all-staff', action: 'grant', app: 'chat', entitlementId: 'all-staff', reason: 'birthright' },
      { key: 'grant/chat/admins', action: 'grant', app: 'chat', entitlementId: 'admins', reason: 'birthright', approvals: ['privileged-access'] },
    ],
    'hr.worker.updated': [
      { key: 'grant/chat/research', action: 'grant', app: 'chat', entitlementId: 'research', reason: 'birthright' },
      { key: 'revoke/chat/all-staff', action: 'revoke', app: 'chat', entitlementId: 'all-staff', reason: 'grace', after: 'PT1S', notBefore: new Date(Date.now() + 1000).toISOString(), fenced: 'revoke' },
    ],
    'hr.worker.terminated': [{ key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver', fenced: 'disableAccount' }],
  };
  const account = { app: 'chat', id: 'acct-1', externalId: 'x' };
  const step = async (input: ApplyStepInput): Promise<StepResult> => ({ outcome: input.step.action === 'ensureAccount' ? 'created' : 'applied', account });
  return {
    planChange: async (input: PlanChangeInput): Promise<Plan> => ({
      policyVersion: 'sha256:replay',
      employeeId: input.employeeId,
      kind: 'joiner',
      steps: (plans[input.eventType] ?? []).map((s) => (s.notBefore ? { ...s, notBefore: new Date(Date.now() + 1000).toISOString() } : s)),
      approvals: [],
      withheld: [],
      sod: [],
      unmanaged: [],
    }),
    // Planning reads each application on its queue; every step is its verb's activity there.
    preparePlan: async () => ({ apps: ['chat'] }),
    readAccount: async () => null,
    ...Object.fromEntries(STEP_ACTIVITY_TYPES.map((verb) => [verb, step])),
    recordChange: async () => undefined,
    requestFencePermit: async () => ({ permit: 'allowed' as const }),
    publishOutcome: async () => undefined,
    // Sensitive steps open approval gates (an approver who never decides: the step waits).
    resolveApprovalChains: async (input: { steps: Array<{ key: string; entitlement: string; rules: string[] }> }): Promise<Record<string, ChainSpec[]>> =>
      Object.fromEntries(input.steps.map((s) => [s.key, s.rules.map((rule) => ({ entitlement: s.entitlement, rule, reason: 'entitlement' as const, mode: 'any-of' as const, required: 1, slots: [{ label: 'security', eligible: ['S1'] }], timeoutMs: 3_600_000, onTimeout: 'reject' as const }))])),
    recordApprovalEvents: async () => 0,
  };
}

describe('workflow replay', () => {
  it('a joiner, mover and leaver history replays deterministically, and every stored history too', async () => {
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address: cfg.temporal.address, namespace: cfg.temporal.namespace });
    const taskQueue = uniqueName('replay');
    const employeeId = uniqueName('R').replaceAll('.', '');
    const activities = stubActivities();
    const workers = await Promise.all([
      Worker.create({ connection: env.nativeConnection, namespace: cfg.temporal.namespace, taskQueue, workflowsPath: workflowsPath(), activities }),
      Worker.create({ connection: env.nativeConnection, namespace: cfg.temporal.namespace, taskQueue: appTaskQueue(taskQueue, 'chat'), activities }),
      Worker.create({ connection: env.nativeConnection, namespace: cfg.temporal.namespace, taskQueue: urgentAppTaskQueue(taskQueue, 'chat'), activities }),
    ]);
    const signal = (type: HrEventReceived['type'], sequence: number, data: Record<string, unknown> = {}) => {
      const e = hrEvent(employeeId, { type, sequence, data });
      return { eventId: e.id, type, source: e.source, time: e.time, snapshot: e.data } as HrEventReceived;
    };
    const handle = await env.client.workflow.start('identityLifecycle', { taskQueue, workflowId: identityWorkflowId(employeeId), args: [{ employeeId }] });
    const history = await Promise.race([
      Promise.all(workers.map((w) => w.run())).then(() => undefined),
      (async () => {
        const settle = async (sequence: number) => {
          for (;;) {
            const s = await handle.query(getState);
            if (s.lastAppliedSequence >= sequence && s.pendingEvents === 0 && s.status !== 'provisioning' && s.scheduled.length === 0) return s;
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        await handle.signal(hrEventReceived, signal('hr.worker.hired', 1));
        await settle(1);
        await handle.signal(hrEventReceived, signal('hr.worker.updated', 2, { department: 'Research' }));
        await settle(2);
        await handle.signal(hrEventReceived, signal('hr.worker.terminated', 3, { status: 'terminated' }));
        const final = await settle(3);
        expect(final.status).toBe('deprovisioned');
        expect(final.awaitingApproval).toEqual([]);
        const fetched = await handle.fetchHistory();
        await handle.terminate('replay history captured');
        for (const w of workers) w.shutdown();
        return fetched;
      })(),
    ]);
    expect(history?.events?.length).toBeGreaterThan(10);

    if (process.env.UPDATE_REPLAY_HISTORIES === '1') {
      mkdirSync(historiesDir, { recursive: true });
      writeFileSync(path.join(historiesDir, `identity-lifecycle-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history!), { longs: String, enums: String, bytes: String }), null, 1));
    }
    const fresh: HistoryAndWorkflowId = { workflowId: handle.workflowId, history: history! };
    const stored: HistoryAndWorkflowId[] = readdirSync(historiesDir, { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.json'))
      .map((f) => ({ workflowId: f.name, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(historiesDir, f.name), 'utf8'))) }));
    expect(stored.length).toBeGreaterThan(0);
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: workflowsPath() }, [fresh, ...stored])) results.push(result);
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error?.message }))).toEqual([fresh, ...stored].map((h) => ({ workflowId: h.workflowId, error: undefined })));

    await env.teardown();
  });
});
