import { describe, expect, it } from 'vitest';
import type { AccountRef } from '../../../connectors/contract.js';
import { planIdentity, type ActualAccount, type PlanStep } from '../../../policy/planner.js';
import { compiled, NOW, person } from './fixtures.js';

const policy = compiled();
const EFFECTIVE = '2026-01-05T09:00:00.000Z';
const ref = (app: string): AccountRef => ({ app, id: `${app}-1`, externalId: 'E1' });
const account = (app: string, entitlements: string[], active = true): ActualAccount => ({ app, account: ref(app), active, entitlements });
const brief = (steps: PlanStep[]) => steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `/${s.entitlementId}` : ''}${s.after ? ` after ${s.after}` : ''}`);
const indexOf = (steps: PlanStep[], action: string, app: string, id?: string) => steps.findIndex((s) => s.action === action && s.app === app && s.entitlementId === id);

describe('planning: joiners', () => {
  it('creates each account before granting in it', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng', effectiveAt: EFFECTIVE }), actual: [], now: NOW });
    expect(plan.kind).toBe('joiner');
    expect(brief(plan.steps)).toEqual([
      'ensureAccount chat',
      'ensureAccount code',
      'ensureAccount directory',
      'grant chat/all-staff',
      'grant chat/eng',
      'grant code/developers',
      'grant directory/staff',
    ]);
    for (const s of plan.steps.filter((x) => x.action === 'grant')) {
      expect(indexOf(plan.steps, 'ensureAccount', s.app)).toBeLessThan(plan.steps.indexOf(s));
    }
    expect(plan.policyVersion).toBe(policy.version);
    expect(plan.steps[3]).toMatchObject({ key: 'grant/chat/all-staff', reason: 'birthright all, eng; role base' });
  });

  it('carries the application\'s correlation rule on ensureAccount and the approvals on a grant', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'sales', title: 'Lead' }), actual: [], now: NOW });
    expect(plan.steps.find((s) => s.key === 'ensureAccount/crm')!.correlation).toEqual({ matchBy: 'email', adopt: 'automatic' });
    expect(plan.steps.find((s) => s.key === 'grant/code/release-approver')!.approvals).toEqual(['mgr']);
  });

  it('plans nothing when actual equals desired', () => {
    const { plan } = planIdentity(policy, { identity: person(), actual: [account('chat', ['all-staff']), account('directory', ['staff'])], now: NOW });
    expect(plan).toMatchObject({ kind: 'no-change', steps: [] });
  });
});

describe('planning: leavers', () => {
  it('disables before revoking, and deletes after the deletion delay', () => {
    const { plan } = planIdentity(policy, {
      identity: person({ status: 'terminated', effectiveAt: EFFECTIVE }),
      actual: [account('chat', ['all-staff', 'eng']), account('code', ['developers']), account('directory', ['staff'], false)],
      now: NOW,
    });
    expect(plan.kind).toBe('leaver');
    expect(brief(plan.steps)).toEqual([
      'disableAccount chat',
      'disableAccount code',
      'revoke chat/all-staff',
      'revoke chat/eng',
      'revoke code/developers',
      'revoke directory/staff',
      'deleteAccount chat after P30D',
      'deleteAccount code after P30D',
      'deleteAccount directory after P30D',
    ]);
    expect(plan.steps.at(-1)).toMatchObject({ notBefore: '2026-02-04T09:00:00.000Z', fenced: 'deleteAccount', account: ref('directory') });
    expect(plan.steps.filter((s) => s.action !== 'deleteAccount').every((s) => s.notBefore === undefined)).toBe(true);
  });
});

describe('planning: movers', () => {
  it('adds now and removes after the grace period; an account left without access is disabled after it too', () => {
    const { plan } = planIdentity(policy, {
      identity: person({ department: 'design', title: 'Author', effectiveAt: EFFECTIVE }),
      actual: [account('chat', ['all-staff', 'eng']), account('code', ['developers']), account('directory', ['staff'])],
      now: NOW,
    });
    expect(plan.kind).toBe('mover');
    // Author → author → engineer: code:release-author is new; nothing lost (engineer still inherited).
    expect(brief(plan.steps)).toEqual(['grant code/release-author']);

    // An engineer moves to sales (in the EU): the CRM now, engineering access after a week.
    const moved = planIdentity(policy, {
      identity: person({ department: 'sales', effectiveAt: EFFECTIVE }),
      actual: [account('chat', ['all-staff', 'eng']), account('code', ['developers']), account('directory', ['staff'])],
      now: NOW,
    }).plan;
    expect(brief(moved.steps)).toEqual([
      'ensureAccount crm',
      'grant crm/users',
      'revoke chat/eng after P7D',
      'revoke code/developers after P7D',
      'disableAccount code after P7D',
    ]);
    expect(moved.steps.find((s) => s.key === 'revoke/chat/eng')).toMatchObject({ after: 'P7D', notBefore: '2026-01-12T09:00:00.000Z', fenced: 'revoke' });
  });

  it('removes at once what region rules forbid, and disables that account at once', () => {
    const { plan } = planIdentity(policy, {
      identity: person({ department: 'sales', region: 'us' }),
      actual: [account('chat', ['all-staff']), account('directory', ['staff']), account('crm', ['users'])],
      now: NOW,
    });
    expect(brief(plan.steps)).toEqual(['revoke crm/users', 'disableAccount crm']);
    expect(plan.steps[0]!.reason).toMatch(/region rules: crm does not allow region us/);
  });

  it('removes before the additions what would sit next to them against a blocking SoD rule during the grace period', () => {
    // A maker becomes a checker: refund-issue must go before refund-approve is granted, not a week later.
    const { plan } = planIdentity(policy, {
      identity: person({ title: 'Checker' }),
      actual: [account('chat', ['all-staff']), account('directory', ['staff']), account('crm', ['refund-issue'])],
      now: NOW,
    });
    expect(brief(plan.steps)).toEqual(['revoke crm/refund-issue', 'grant crm/refund-approve']);
  });

  it('removes at once what an expired grant gave', () => {
    const { plan } = planIdentity(policy, {
      identity: person(),
      actual: [account('chat', ['all-staff']), account('directory', ['staff']), account('code', ['admin'])],
      grants: [{ id: 'g', entitlement: 'code:admin', grantedAt: '2025-01-01T00:00:00Z', expiresAt: '2025-02-01T00:00:00Z' }],
      now: NOW,
    });
    expect(brief(plan.steps)).toEqual(['revoke code/admin', 'disableAccount code after P7D']);
    expect(plan.steps[0]!.reason).toBe('the grant expired');
  });

  it('leaves entitlements the policy does not know alone, and reports them', () => {
    const { plan } = planIdentity(policy, { identity: person(), actual: [account('chat', ['all-staff', 'random-channel']), account('directory', ['staff'])], now: NOW });
    expect(plan.steps).toEqual([]);
    expect(plan.unmanaged).toEqual([{ app: 'chat', entitlementId: 'random-channel' }]);
  });
});

describe('planning: leave of absence and return', () => {
  it('keeps accounts during leave by default; disables them when lifecycle.onLeave is disable; enables on return', () => {
    const actual = [account('chat', ['all-staff']), account('directory', ['staff'])];
    expect(planIdentity(policy, { identity: person({ status: 'on-leave' }), actual, now: NOW }).plan.steps).toEqual([]);
    const strict = compiled({ 'lifecycle.yaml': 'lifecycle:\n  onLeave: disable\n' });
    expect(brief(planIdentity(strict, { identity: person({ status: 'on-leave' }), actual, now: NOW }).plan.steps)).toEqual(['disableAccount chat', 'disableAccount directory']);
    const back = planIdentity(strict, { identity: person({ status: 'active' }), actual: actual.map((a) => ({ ...a, active: false })), now: NOW }).plan;
    expect(brief(back.steps)).toEqual(['enableAccount chat', 'enableAccount directory']);
  });
});
