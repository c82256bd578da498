import { describe, expect, it } from 'vitest';
import { judgePermit, stepsPerScope } from '../../policy/fence-count.js';
import { fenceLimit, fencesAction, sourceBudget } from '../../policy/fencing.js';
import { fencingSchema } from '../../schemas/policy.js';
import { scopeKey } from '../../schemas/fence.js';

const disable = (app: string) => ({ key: `disableAccount/${app}`, app, action: 'disableAccount' as const });
const fencing = fencingSchema.parse({
  perSource: {
    default: { disableAccount: { absolute: 50 } },
    'hr.lifecycle': { disableAccount: { absolute: 100 } },
    'reconcile/*': { disableAccount: { absolute: 10 } },
    'policy/*': { grant: { absolute: 500, share: 0.1 } },
  },
});

describe('the fence counts', () => {
  it('counts each step once for its source budget and once for its application', () => {
    expect(stepsPerScope('default', [disable('chat'), disable('crm'), { key: 'revoke/chat/x', app: 'chat', action: 'revoke', entitlementId: 'x' }])).toEqual({
      [scopeKey('source', 'default', 'disableAccount')]: 2,
      [scopeKey('app', 'chat', 'disableAccount')]: 1,
      [scopeKey('app', 'crm', 'disableAccount')]: 1,
      [scopeKey('source', 'default', 'revoke')]: 1,
      [scopeKey('app', 'chat', 'revoke')]: 1,
    });
  });

  it('allows up to the limit exactly and holds the ask that would pass it, whole', () => {
    const key = scopeKey('source', 'default', 'disableAccount');
    const base = { need: { [key]: 2 }, limits: { [key]: 50 }, windowMs: 900_000 };
    expect(judgePermit({ ...base, inWindow: { [key]: 48 } })).toEqual({ permit: 'allowed' });
    expect(judgePermit({ ...base, inWindow: { [key]: 49 } })).toEqual({ permit: 'held', tripped: [key], reasons: ['disableAccount from source default: 51 would exceed 50 in 15 min'] });
  });

  it('holds an ask in a scope of the open batch though its count has room (a slow drip), and lets other scopes through', () => {
    const key = scopeKey('app', 'chat', 'disableAccount');
    const open = { batchId: 'batch-3', scopes: [key] };
    expect(judgePermit({ inWindow: {}, need: { [key]: 1 }, limits: {}, windowMs: 60_000, open })).toEqual({ permit: 'held', tripped: [], reasons: ['disableAccount in application chat: batch batch-3 is open'] });
    expect(judgePermit({ inWindow: {}, need: { [scopeKey('app', 'crm', 'disableAccount')]: 1 }, limits: {}, windowMs: 60_000, open })).toEqual({ permit: 'allowed' });
  });
});

describe('source budgets', () => {
  it('a source the policy names has its own budget; a family covers its members; any other source shares `default`', () => {
    expect(sourceBudget(fencing, 'hr.lifecycle')).toBe('hr.lifecycle');
    expect(sourceBudget(fencing, 'reconcile/crm')).toBe('reconcile/*');
    expect(sourceBudget(fencing, 'policy/sha256:abc')).toBe('policy/*');
    // A feed that changes its source string every message gets no fresh budget.
    expect(new Set(['urn:feed:1', 'urn:feed:2', 'x/y', 'default', '__proto__', 'constructor'].map((s) => sourceBudget(fencing, s)))).toEqual(new Set(['default']));
  });

  it('limits follow the budget: max(absolute, share × population)', () => {
    expect(fenceLimit(fencing, { scope: 'source', source: 'urn:feed:7' }, 'disableAccount', 1000)).toBe(50);
    expect(fenceLimit(fencing, { scope: 'source', source: 'hr.lifecycle' }, 'disableAccount', 1000)).toBe(100);
    expect(fenceLimit(fencing, { scope: 'source', source: 'reconcile/ldap' }, 'disableAccount', 1000)).toBe(10);
    expect(fenceLimit(fencing, { scope: 'source', source: 'policy/v2' }, 'grant', 10_000)).toBe(1000);
    expect(fenceLimit(fencing, { scope: 'source', source: 'urn:feed:7' }, 'grant', 10_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('grants are fenced steps only where a threshold names them', () => {
    expect(fencesAction(fencing, 'grant')).toBe(true);
    expect(fencesAction(fencingSchema.parse({}), 'grant')).toBe(false);
    expect(fencesAction(fencingSchema.parse({}), 'disableAccount')).toBe(true);
  });
});
