// Dated changes in the plan (policy/dated.ts): a future start opens each application's prehire
// window, the account is made disabled and enabled at the start; a future termination waits for
// its effectiveAt; a past one acts at once. And least privilege on hire (policy/least-privilege.ts).
import { describe, expect, it } from 'vitest';
import { planFor } from '../../../activities/plan.js';
import { startMoment } from '../../../policy/dated.js';
import type { ActualAccount, PlanStep } from '../../../policy/planner.js';
import { planIdentity } from '../../../policy/planner.js';
import { baseFiles, compiled, load, NOW, person } from './fixtures.js';

const brief = (steps: PlanStep[]) => steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `/${s.entitlementId}` : ''}${s.notBefore ? ` @${s.notBefore}` : ''}${s.active === false ? ' (disabled)' : ''}`);
const account = (app: string, entitlements: string[], active = true): ActualAccount => ({ app, account: { app, id: `${app}-1`, externalId: 'E1' }, active, entitlements });
const withLifecycle = (yaml: string) => compiled({ 'lifecycle.yaml': `lifecycle:\n${yaml}` });
// chat opens a week before the start; every other application on the start date (lifecycle default 0).
const chatAWeekAhead = compiled({ 'applications.yaml': baseFiles['applications.yaml']!.replace('    classification: internal\n    entitlements:\n      - { id: all-staff }', '    classification: internal\n    prehireDays: 7\n    entitlements:\n      - { id: all-staff }') });

describe('a future start (prehire)', () => {
  it('before every window opens nothing is planned, and the plan says when to look again', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ startDate: '2026-01-20' }), actual: [], now: NOW });
    expect(plan.steps).toEqual([]);
    expect(plan.kind).toBe('no-change');
    expect(plan.wakeAt).toBe('2026-01-20T00:00:00.000Z');
    expect(plan.wakeReason).toBe('prehire: chat, directory open for the start 2026-01-20T00:00:00.000Z');
  });

  it('inside the window the account is made disabled, granted, and enabled at the start on a scheduled step', () => {
    const { plan } = planIdentity(withLifecycle('  prehireDays: 14\n'), { identity: person({ startDate: '2026-01-10' }), actual: [], now: NOW });
    expect(brief(plan.steps)).toEqual([
      'ensureAccount chat (disabled)',
      'ensureAccount directory (disabled)',
      'grant chat/all-staff',
      'grant directory/staff',
      'enableAccount chat @2026-01-10T00:00:00.000Z',
      'enableAccount directory @2026-01-10T00:00:00.000Z',
    ]);
    expect(plan.wakeAt).toBeUndefined();
  });

  it('each application has its own window: the open one is made, the closed one wakes the person when it opens', () => {
    const { plan } = planIdentity(chatAWeekAhead, { identity: person({ startDate: '2026-01-10' }), actual: [], now: NOW });
    expect(brief(plan.steps)).toEqual(['ensureAccount chat (disabled)', 'grant chat/all-staff', 'enableAccount chat @2026-01-10T00:00:00.000Z']);
    expect(plan.wakeAt).toBe('2026-01-10T00:00:00.000Z');
    expect(plan.wakeReason).toContain('directory opens');
  });

  it('an account that exists disabled before the start is enabled at the start, not now', () => {
    const { plan } = planIdentity(withLifecycle('  prehireDays: 14\n'), { identity: person({ startDate: '2026-01-10' }), actual: [account('chat', ['all-staff'], false), account('directory', ['staff'], false)], now: NOW });
    expect(brief(plan.steps)).toEqual(['enableAccount chat @2026-01-10T00:00:00.000Z', 'enableAccount directory @2026-01-10T00:00:00.000Z']);
  });

  it('on or after the start, the person is planned as today: accounts active at once', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ startDate: '2026-01-05' }), actual: [], now: NOW });
    expect(brief(plan.steps)).toEqual(['ensureAccount chat', 'ensureAccount directory', 'grant chat/all-staff', 'grant directory/staff']);
    expect(plan.wakeAt).toBeUndefined();
  });

  it('a date starts at 00:00 in lifecycle.timezone; a date-time is that moment', () => {
    expect(new Date(startMoment('2026-01-20', 'Europe/Berlin')).toISOString()).toBe('2026-01-19T23:00:00.000Z');
    expect(new Date(startMoment('2026-07-20', 'Europe/Berlin')).toISOString()).toBe('2026-07-19T22:00:00.000Z');
    expect(new Date(startMoment('2026-03-08', 'America/New_York')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(new Date(startMoment('2026-01-20T09:30:00+01:00', 'UTC')).toISOString()).toBe('2026-01-20T08:30:00.000Z');
    const berlin = withLifecycle('  timezone: Europe/Berlin\n');
    expect(planIdentity(berlin, { identity: person({ startDate: '2026-01-20' }), actual: [], now: NOW }).plan.wakeAt).toBe('2026-01-19T23:00:00.000Z');
    const soon = planIdentity(withLifecycle('  prehireDays: 0.5\n'), { identity: person({ startDate: '2026-01-05T12:00:00Z' }), actual: [], now: NOW }).plan;
    expect(brief(soon.steps)).toContain('enableAccount chat @2026-01-05T12:00:00.000Z');
  });

  it('a policy with a time zone the runtime does not know, or a negative prehireDays, is refused with the fix', () => {
    const zone = load({ 'lifecycle.yaml': 'lifecycle:\n  timezone: Mars/Olympus\n' });
    expect(zone.ok).toBe(false);
    if (!zone.ok) expect(zone.problems.map((p) => p.message).join('\n')).toContain('IANA name');
    const days = load({ 'lifecycle.yaml': 'lifecycle:\n  prehireDays: -1\n' });
    expect(days.ok).toBe(false);
  });
});

describe('a termination with a future effectiveAt', () => {
  const actual = [account('chat', ['all-staff']), account('directory', ['staff'])];

  it('disables and revokes at effectiveAt, deletes after the delay counted from it; nothing happens now', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ status: 'terminated', effectiveAt: '2026-01-09T17:00:00Z' }), actual, now: NOW });
    expect(brief(plan.steps)).toEqual([
      'disableAccount chat @2026-01-09T17:00:00.000Z',
      'disableAccount directory @2026-01-09T17:00:00.000Z',
      'revoke chat/all-staff @2026-01-09T17:00:00.000Z',
      'revoke directory/staff @2026-01-09T17:00:00.000Z',
      'deleteAccount chat @2026-02-08T17:00:00.000Z',
      'deleteAccount directory @2026-02-08T17:00:00.000Z',
    ]);
    expect(plan.steps.every((s) => s.fenced)).toBe(true);
    expect(plan.steps[0]!.reason).toBe('leaver: access ends at 2026-01-09T17:00:00.000Z');
  });

  it('a retro-dated termination acts at once', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ status: 'terminated', effectiveAt: '2026-01-01T17:00:00Z' }), actual, now: NOW });
    expect(brief(plan.steps).slice(0, 4)).toEqual(['disableAccount chat', 'disableAccount directory', 'revoke chat/all-staff', 'revoke directory/staff']);
  });

  it('rescinded (active again), the plan has nothing to disable: the scheduled disable is replaced by nothing', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ status: 'active', effectiveAt: '2026-01-05T09:00:00Z' }), actual, now: NOW });
    expect(plan.steps).toEqual([]);
  });
});

describe('least privilege on hire', () => {
  // A Maker gets crm:refund-issue (approval `two`) and the base role: crm has nothing without approval.
  const maker = person({ title: 'Maker' });

  it('an account whose every entitlement waits for approval is marked to be made with the first approved grant', () => {
    const { plan } = planIdentity(compiled(), { identity: maker, actual: [], now: NOW });
    const ensure = (app: string) => plan.steps.find((s) => s.key === `ensureAccount/${app}`)!;
    expect(ensure('crm').untilApproved).toBe(true);
    expect(ensure('chat').untilApproved).toBeUndefined();
    expect(plan.steps.find((s) => s.key === 'grant/crm/refund-issue')!.approvals).toEqual(['two']);
  });

  it('an application with one grant that needs no approval makes its account at once', () => {
    const { plan } = planIdentity(compiled(), { identity: person({ title: 'Maker', department: 'sales' }), actual: [], now: NOW });
    expect(plan.steps.find((s) => s.key === 'ensureAccount/crm')!.untilApproved).toBeUndefined();
  });

  it('an approved access request\'s grant needs no approval here, so its account is made at once', () => {
    const grants = [{ id: 'g-1', entitlement: 'crm:refund-issue', grantedAt: NOW }];
    const plan = planFor(compiled(), { identity: maker, actual: [], grants, now: NOW, served: () => true });
    expect(plan.steps.find((s) => s.key === 'ensureAccount/crm')!.untilApproved).toBeUndefined();
  });
});
