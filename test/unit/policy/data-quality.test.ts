// HR data quality at planning (policy/data-quality.ts): two people claiming one e-mail are both held
// in the applications that carry it, and nobody's account is created or adopted there; a missing
// `whenMissing: hold` attribute removes nothing; leavers are never held.
import { describe, expect, it } from 'vitest';
import { missingHeldAttributes } from '../../../policy/data-quality.js';
import type { ActualAccount, PlanStep } from '../../../policy/planner.js';
import { planIdentity } from '../../../policy/planner.js';
import { baseFiles, compiled, load, NOW, person } from './fixtures.js';

const policy = compiled();
const account = (app: string, entitlements: string[]): ActualAccount => ({ app, account: { app, id: `${app}-1`, externalId: 'E1' }, active: true, entitlements });
const brief = (steps: PlanStep[]) => steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `/${s.entitlementId}` : ''}`);
const sharedEmail = [{ attribute: 'email' as const, employeeIds: ['E2'] }];

/** The fixture policy with `department` declared `whenMissing: hold`. */
const holdingAttributes = baseFiles['attributes.yaml']!.replace('{ name: department, type: string }', '{ name: department, type: string, whenMissing: hold }');
const holding = compiled({ 'attributes.yaml': holdingAttributes });

describe('two people claiming one e-mail address', () => {
  it('a joiner gets no account, nor grants to it, in any application, and the plan says who else claims it', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng' }), actual: [], now: NOW, duplicates: sharedEmail });
    expect(plan.steps).toEqual([]);
    expect(plan.kind).toBe('no-change');
    expect(plan.held?.map((h) => h.app)).toEqual(['chat', 'code', 'directory']);
    expect(plan.held?.[0]!.reason).toBe('chat: the e-mail address is also claimed by E2: no account is created or adopted there for either person until HR corrects one record');
  });

  it('the person who has their accounts keeps them and goes on, flagged for each application', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng' }), actual: [account('chat', ['all-staff']), account('directory', ['staff'])], now: NOW, duplicates: sharedEmail });
    // Their own accounts go on; the application they have no account in yet is held.
    expect(brief(plan.steps)).toEqual(['grant chat/eng']);
    expect(plan.held?.map((h) => h.app)).toEqual(['chat', 'code', 'directory']);
  });

  it('a duplicate named for one application holds that application only', () => {
    const { plan } = planIdentity(policy, { identity: person({ department: 'eng' }), actual: [], now: NOW, duplicates: [{ attribute: 'userName', app: 'code', employeeIds: ['E2', 'E3'] }] });
    expect(brief(plan.steps).filter((s) => s.includes('code'))).toEqual([]);
    expect(brief(plan.steps)).toEqual(expect.arrayContaining(['ensureAccount chat', 'ensureAccount directory']));
    expect(plan.held).toEqual([{ app: 'code', reason: expect.stringMatching(/^code: the userName is also claimed by E2, E3:/) }]);
  });

  it('a leaver is disabled as usual: nothing is held', () => {
    const { plan } = planIdentity(policy, { identity: person({ status: 'terminated' }), actual: [account('chat', ['all-staff'])], now: NOW, duplicates: sharedEmail });
    expect(brief(plan.steps)).toEqual(['disableAccount chat', 'revoke chat/all-staff', 'deleteAccount chat']);
    expect(plan).not.toHaveProperty('held');
  });

  it('no duplicates, no held', () => {
    expect(planIdentity(policy, { identity: person(), actual: [], now: NOW, duplicates: [] }).plan).not.toHaveProperty('held');
  });
});

describe('an attribute declared whenMissing: hold', () => {
  it('is accepted by the loader; evaluate and absent are the default', () => {
    const attributes = (decl: string) => ({ 'attributes.yaml': baseFiles['attributes.yaml']!.replace('{ name: level, type: int }', decl) });
    expect(load(attributes('{ name: level, type: int, whenMissing: evaluate }')).ok).toBe(true);
    const wrong = load(attributes('{ name: level, type: int, whenMissing: skip }'));
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? [] : wrong.problems.map((p) => p.path)).toEqual(['attributes[5].whenMissing']);
    expect(missingHeldAttributes(policy, person())).toEqual([]);
  });

  it('missing from a mover keeps every entitlement and account; the plan is held with the reason', () => {
    const actual = [account('chat', ['all-staff', 'eng']), account('code', ['developers']), account('directory', ['staff'])];
    // With `evaluate` the missing department removes the engineer's access after the grace period.
    expect(brief(planIdentity(policy, { identity: person(), actual, now: NOW }).plan.steps)).toEqual(['revoke chat/eng', 'revoke code/developers', 'disableAccount code']);
    const { plan } = planIdentity(holding, { identity: person(), actual, now: NOW });
    expect(plan.steps).toEqual([]);
    expect(plan.held).toEqual([{ reason: 'attribute department missing from the HR snapshot (whenMissing: hold): no access was removed; have HR send it' }]);
  });

  it('additions from what HR did send go ahead; a wrong type counts as missing', () => {
    const { plan } = planIdentity(holding, { identity: person({ title: 'Lead', department: 42 as unknown as string }), actual: [account('chat', ['all-staff', 'eng']), account('directory', ['staff'])], now: NOW });
    expect(brief(plan.steps)).toEqual(expect.arrayContaining(['ensureAccount code', 'grant code/developers']));
    expect(plan.steps.filter((s) => s.action === 'revoke' || s.action === 'disableAccount')).toEqual([]);
    expect(plan.held).toHaveLength(1);
  });

  it('present, it plans as usual; a leaver without it is still deprovisioned', () => {
    expect(planIdentity(holding, { identity: person({ department: 'sales' }), actual: [account('chat', ['all-staff', 'eng'])], now: NOW }).plan).not.toHaveProperty('held');
    const { plan } = planIdentity(holding, { identity: person({ status: 'terminated' }), actual: [account('chat', ['all-staff'])], now: NOW });
    expect(brief(plan.steps)).toEqual(['disableAccount chat', 'revoke chat/all-staff', 'deleteAccount chat']);
    expect(plan).not.toHaveProperty('held');
  });

  it('a leave that disables is not held for it: the status decides, not the attribute', () => {
    const disabling = compiled({ 'attributes.yaml': holdingAttributes, 'lifecycle.yaml': 'lifecycle:\n  onLeave: disable\n' });
    const { plan } = planIdentity(disabling, { identity: person({ status: 'on-leave' }), actual: [account('chat', ['all-staff'])], now: NOW });
    expect(brief(plan.steps)).toEqual(['disableAccount chat']);
    expect(plan).not.toHaveProperty('held');
  });
});

describe('held, and what is still done', () => {
  it('a person claiming another e-mail gets no update in the held applications: the claimed value never reaches their account', () => {
    const chat: ActualAccount = { ...account('chat', ['all-staff']), attributes: { userName: 'old@example.com', 'name.givenName': 'Old', 'name.familyName': 'Name', emails: 'old@example.com' } };
    const identity = person({ department: 'eng', email: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace' });
    const unheld = planIdentity(policy, { identity, actual: [chat], now: NOW });
    expect(brief(unheld.plan.steps)).toContain('updateAccount chat');
    const { plan } = planIdentity(policy, { identity, actual: [chat], now: NOW, duplicates: sharedEmail });
    expect(plan.steps.filter((s) => s.action === 'updateAccount')).toEqual([]);
    expect(plan.held?.map((h) => h.app)).toContain('chat');
  });

  it('a missing hold attribute does not keep a request grant past its end: its revoke is planned', () => {
    const grants = [{ id: 'g1', entitlement: 'chat:eng', grantedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-05T09:00:00.000Z' }];
    const { plan } = planIdentity(holding, { identity: person(), actual: [account('chat', ['all-staff', 'eng']), account('directory', ['staff'])], grants, now: NOW });
    expect(brief(plan.steps).filter((s) => !s.startsWith('ensureAccount') && !s.startsWith('grant'))).toEqual(['revoke chat/eng']);
    expect(plan.held).toHaveLength(1);
  });
});
