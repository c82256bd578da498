// Planning when an application cannot say what the person holds (ActualAccount.membershipsUnknown):
// grants as usual, no revoke on the strength of an empty list, and the plan says which applications
// it could not read and why.
import { describe, expect, it } from 'vitest';
import type { ActualAccount, PlanStep } from '../../../policy/planner.js';
import { planIdentity } from '../../../policy/planner.js';
import { compiled, NOW, person } from './fixtures.js';

const policy = compiled();
const WHY = 'chat: memberships cannot be read: users do not carry `groups`; the Groups endpoint refused a members filter';
const account = (app: string, entitlements: string[], extra: Partial<ActualAccount> = {}): ActualAccount => ({ app, account: { app, id: `${app}-1`, externalId: 'E1' }, active: true, entitlements, ...extra });
const unread = (app: string) => account(app, [], { membershipsUnknown: WHY });
const brief = (steps: PlanStep[]) => steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `/${s.entitlementId}` : ''}`);

describe('planning with memberships that could not be read', () => {
  it('a mover: grants are planned as usual (marked may-be-held), no revoke there, and the plan reports the application unread', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng' }), actual: [unread('chat'), account('directory', ['staff'])], now: NOW });
    expect(brief(plan.steps)).toEqual(expect.arrayContaining(['grant chat/all-staff', 'grant chat/eng']));
    expect(plan.steps.filter((s) => s.action === 'revoke' && s.app === 'chat')).toEqual([]);
    expect(plan.unread).toEqual([{ app: 'chat', reason: WHY }]);
    // Its grants may be held already: a rollback must not revoke them on the strength of `already-in-state`.
    expect(plan.steps.filter((s) => s.action === 'grant').map((s) => `${s.app} ${s.mayBeHeld ?? false}`)).toEqual(expect.arrayContaining(['chat true']));
    expect(plan.steps.filter((s) => s.action === 'grant' && s.app !== 'chat' && s.mayBeHeld)).toEqual([]);
  });

  it('a leaver is still disabled and deleted later; the revokes that cannot be planned are reported', () => {
    const { plan } = planIdentity(policy, { identity: person({ status: 'terminated' }), actual: [unread('chat'), account('code', ['developers'])], now: NOW });
    expect(brief(plan.steps)).toEqual(['disableAccount chat', 'disableAccount code', 'revoke code/developers', 'deleteAccount chat', 'deleteAccount code']);
    expect(plan.unread).toEqual([{ app: 'chat', reason: WHY }]);
  });

  it('even with nothing to do, the plan does not claim the application converged', () => {
    const { plan } = planIdentity(policy, { identity: person(), actual: [account('chat', ['all-staff'], { membershipsUnknown: WHY }), account('directory', ['staff'])], now: NOW });
    expect(plan.kind).toBe('no-change');
    expect(plan.unread).toEqual([{ app: 'chat', reason: WHY }]);
  });

  it('leave that disables (nothing is revoked) has nothing unread to report; leave that keeps access plans as a mover does', () => {
    const disabling = compiled({ 'lifecycle.yaml': 'lifecycle:\n  onLeave: disable\n' });
    const away = planIdentity(disabling, { identity: person({ status: 'on-leave' }), actual: [unread('chat')], now: NOW }).plan;
    expect(brief(away.steps)).toEqual(['disableAccount chat']);
    expect(away.unread).toBeUndefined();
    expect(planIdentity(policy, { identity: person({ status: 'on-leave' }), actual: [unread('chat')], now: NOW }).plan.unread).toEqual([{ app: 'chat', reason: WHY }]);
  });

  it('a plan whose applications all answered carries no unread at all', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng' }), actual: [account('chat', ['all-staff'])], now: NOW });
    expect(plan).not.toHaveProperty('unread');
  });
});
