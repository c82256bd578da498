// A person's change and a quarantined application: the application's steps (or the plan's read of
// it) fail fast with ApplicationQuarantined; the other application's steps complete, the change
// waits (getState: waiting-for-application, the application named), nothing is undone, and once
// the application is released (found at the re-check, or signalled) the change is planned again
// and its steps there run.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import protos from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import type { PlanStep } from '../../policy/planner.js';
import { applicationReleased } from '../../workflows/messages.js';
import { outcome, scenario, unique } from './harness.js';
import { person } from './people.js';
import { createStubActivities } from './stub-activities.js';

const RECHECK_MS = 60_000;
const steps: PlanStep[] = [
  { key: 'ensureAccount/chat', action: 'ensureAccount', app: 'chat', reason: 'birthright' },
  { key: 'ensureAccount/code', action: 'ensureAccount', app: 'code', reason: 'birthright' },
  { key: 'grant/chat/all-staff', action: 'grant', app: 'chat', entitlementId: 'all-staff', reason: 'birthright' },
  { key: 'grant/code/all-staff', action: 'grant', app: 'code', entitlementId: 'all-staff', reason: 'birthright' },
];

describe('a change that finds an application quarantined', () => {
  it.each([
    { found: 'by the plan read', reads: true, release: 're-check' },
    { found: 'by a step', reads: false, release: 'signal' },
  ] as const)('found $found: the other application is provisioned, the change waits, and completes after the release ($release)', async ({ reads, release }) => {
    const quarantine = { apps: new Set(['code']), recheckMs: RECHECK_MS, reads };
    const stubs = createStubActivities({ apps: ['chat', 'code'], plan: () => steps, quarantine });
    await scenario({ apps: ['chat', 'code'], stubs }, async (run) => {
      const p = person(run, unique('QW'));
      await p.send('hr.worker.hired', 1);
      const waiting = await p.until('the change to wait for code', (s) => s.status === 'waiting-for-application');
      expect(waiting.quarantinedApplications).toEqual(['code']);
      expect(waiting.accounts).toEqual({ chat: { accountId: `chat-${p.employeeId}` } });
      expect(stubs.held('chat', p.employeeId)?.entitlements).toEqual(['all-staff']);
      expect(stubs.held('code', p.employeeId)).toBeUndefined();
      const first = await outcome(stubs, 'the first outcome', (o) => o.sequence === 1);
      expect(first.reason).toContain('waiting for quarantined application(s) code');
      expect(first.compensations).toBeUndefined();
      // A step found it quarantined: its later steps there were not tried; a read: none was planned there.
      expect(stubs.connectorCalls().filter((c) => c.app === 'code').map((c) => c.key)).toEqual(reads ? [] : ['ensureAccount/code']);

      // Still quarantined at the re-check: the wait goes on, nothing is called there.
      await run.env.sleep(RECHECK_MS + 1_000);
      await p.until('a re-check', () => stubs.calls.some((c) => c.activity === 'quarantinedApplicationsOf'));
      expect((await p.state()).status).toBe('waiting-for-application');

      quarantine.apps.delete('code');
      if (release === 'signal') await p.handle.signal(applicationReleased, { app: 'code' });
      else await run.env.sleep(RECHECK_MS + 1_000);
      const done = await p.until('the change to converge after the release', (s) => s.status === 'provisioned');
      expect(done.quarantinedApplications).toBeUndefined();
      expect(done.accounts).toEqual({ chat: { accountId: `chat-${p.employeeId}` }, code: { accountId: `code-${p.employeeId}` } });
      expect(stubs.held('code', p.employeeId)?.entitlements).toEqual(['all-staff']);
      const after = await outcome(stubs, 'the outcome after the release', (o) => o.changeId.endsWith('/after-quarantine-1'));
      expect(after.status).toBe('succeeded');
      // Nothing was undone and no step failed on the way.
      expect(stubs.connectorCalls().filter((c) => c.kind === 'undo')).toEqual([]);
      // With UPDATE_REPLAY_HISTORIES=1 the step's shape is kept for test/replay/ (replayed on every run).
      if (process.env.UPDATE_REPLAY_HISTORIES === '1' && !reads) {
        const { History } = protos.temporal.api.history.v1;
        const history = History.toObject(History.fromObject(await p.handle.fetchHistory()), { longs: String, enums: String, bytes: String });
        writeFileSync(path.join(projectRoot, 'test', 'replay', 'histories', 'identity-lifecycle-quarantine-wait.json'), JSON.stringify(history, null, 1));
      }
    });
  }, 120_000);
});
