// A leaver's change that finds an application quarantined after the fence let it through: once the
// application is released, the resumed change (`<changeId>/after-quarantine-1`) is answered by the
// first change's ask (same request id), so the same removals are counted once in the window, not twice.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import protos from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import type { PlanStep } from '../../policy/planner.js';
import { fenceWorkflowId, getFenceState, scopeKey } from '../../workflows/fence-messages.js';
import { applicationReleased } from '../../workflows/messages.js';
import { outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';

const hire: PlanStep[] = [
  { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
  { key: 'ensureAccount/code', action: 'ensureAccount', app: 'code', reason: 'birthright' },
];
const leave: PlanStep[] = [
  { key: 'disableAccount/chat', action: 'disableAccount', app: 'chat', reason: 'leaver', fenced: 'disableAccount' },
  { key: 'disableAccount/code', action: 'disableAccount', app: 'code', reason: 'leaver', fenced: 'disableAccount' },
];

describe('a change resumed after a quarantine and the fence', () => {
  it('asks the fence once: the resumed change is answered by the first ask, and the window counts each disable once', async () => {
    const quarantine = { apps: new Set<string>(), recheckMs: 60_000, reads: false };
    const limits = { [scopeKey('app', 'chat', 'disableAccount')]: 10, [scopeKey('app', 'code', 'disableAccount')]: 10 };
    const stubs = createStubActivities({ apps: ['chat', 'code'], plan: (input) => (input.eventType === 'hr.worker.hired' ? hire : leave), quarantine, fence: { limits } });
    await scenario({ apps: ['chat', 'code'], stubs }, async (run) => {
      const p = person(run, unique('FQ'));
      await p.hr('hr.worker.hired', 1);
      // code goes down: the termination's disable there finds it quarantined after the fence let both through.
      quarantine.apps.add('code');
      await p.send('hr.worker.terminated', 2, { status: 'terminated' });
      const waiting = await p.until('the termination to wait for code', (s) => s.status === 'waiting-for-application');
      expect(waiting.quarantinedApplications).toEqual(['code']);
      expect(stubs.held('chat', p.employeeId)?.active).toBe(false);
      expect(stubs.held('code', p.employeeId)?.active).toBe(true);

      quarantine.apps.delete('code');
      await p.handle.signal(applicationReleased, { app: 'code' });
      await p.until('the resumed termination to deprovision', (s) => s.status === 'deprovisioned');
      expect(stubs.held('code', p.employeeId)?.active).toBe(false);
      const resumed = await outcome(stubs, 'the resumed change', (o) => o.changeId.endsWith('/after-quarantine-1'));
      expect(resumed.status).toBe('succeeded');

      // Asked twice, with one request id: each disable counts once.
      expect(stubs.calls.filter((c) => c.activity === 'requestFencePermit')).toHaveLength(2);
      const fence = await run.env.client.workflow.getHandle(fenceWorkflowId(run.taskQueue)).query(getFenceState);
      expect(fence.inWindow[scopeKey('app', 'chat', 'disableAccount')]).toBe(1);
      expect(fence.inWindow[scopeKey('app', 'code', 'disableAccount')]).toBe(1);
      // With UPDATE_REPLAY_HISTORIES=1 the shape is kept for test/replay/ (replayed on every run).
      if (process.env.UPDATE_REPLAY_HISTORIES === '1') {
        const { History } = protos.temporal.api.history.v1;
        const history = History.toObject(History.fromObject(await p.handle.fetchHistory()), { longs: String, enums: String, bytes: String });
        writeFileSync(path.join(projectRoot, 'test', 'replay', 'histories', 'identity-lifecycle-7-fence-ask-once-after-quarantine.json'), JSON.stringify(history, null, 1));
      }
    });
  });
});
