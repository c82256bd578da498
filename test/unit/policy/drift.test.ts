// Drift classification (policy/drift.ts) and the rules that stop a reconciliation's removals
// (policy/reconcile-safety.ts).
import { describe, expect, it } from 'vitest';
import { classifyDrift, countByKind, findingKey, type DesiredAccount, type ListedAccount } from '../../../policy/drift.js';
import { decide } from '../../../policy/reconcile-remediation.js';
import { removalBlocks } from '../../../policy/reconcile-safety.js';
import { reconcileSettings } from '../../../schemas/reconcile.js';

const want = (employeeId: string, extra: Partial<DesiredAccount> = {}): DesiredAccount => ({ employeeId, app: 'chat', active: true, entitlements: ['staff'], ...extra });
const has = (id: string, externalId: string | undefined, extra: Partial<ListedAccount> = {}): ListedAccount => ({ id, ...(externalId ? { externalId } : {}), active: true, entitlements: ['staff'], ...extra });
const brief = (input: Parameters<typeof classifyDrift>[0]) => classifyDrift(input).map((f) => `${f.kind} ${f.employeeId ?? '-'} ${f.accountId ?? '-'}${f.entitlementId ? ` ${f.entitlementId}` : ''}${f.attribute ? ` ${f.attribute}` : ''}`);

describe('classifying drift', () => {
  it('an application that holds exactly what the policy wants has no drift', () => {
    expect(classifyDrift({ app: 'chat', desired: [want('E1'), want('E2')], listed: [has('a1', 'E1'), has('a2', 'e2')] })).toEqual([]);
  });

  it('finds each kind once, with the ids involved', () => {
    const desired = [
      want('E1'),
      want('E2', { entitlements: ['staff', 'eng'] }),
      want('E3'),
      want('E4', { active: false, entitlements: [] }),
      want('E5', { attributes: { title: 'Engineer' } }),
      want('E6', { email: 'Six@Example.com' }),
    ];
    const listed = [
      has('a2', 'E2', { entitlements: ['staff', 'admins'] }),
      has('a3', 'E3', { active: false }),
      has('a4', 'E4'),
      has('a5', 'E5', { attributes: { title: 'Manager' } }),
      has('a6', undefined, { email: 'six@example.com ' }),
      has('a9', 'E9'),
    ];
    expect(brief({ app: 'chat', desired, listed, correlation: { matchBy: 'email', adopt: 'automatic' }, managedEntitlements: new Set(['staff', 'eng']) }).sort()).toEqual(
      [
        'missing-account E1 -',
        'missing-entitlement E2 a2 eng',
        'extra-entitlement E2 a2 admins',
        'wrong-state E3 a3',
        'wrong-state E4 a4',
        'attribute-drift E5 a5 title',
        'uncorrelated-account E6 a6',
        'orphan-account - a9',
      ].sort(),
    );
  });

  it('an extra entitlement the catalogue does not know is marked unmanaged', () => {
    const [f] = classifyDrift({ app: 'chat', desired: [want('E1')], listed: [has('a1', 'E1', { entitlements: ['staff', 'lunch-club'] })], managedEntitlements: new Set(['staff']) });
    expect(f).toMatchObject({ kind: 'extra-entitlement', entitlementId: 'lunch-club', unmanaged: true });
  });

  it('memberships the application could not say are not judged', () => {
    expect(classifyDrift({ app: 'chat', desired: [want('E1', { entitlements: ['staff', 'eng'] })], listed: [has('a1', 'E1', { entitlements: [], entitlementsUnknown: 'no groups' })] })).toEqual([]);
  });

  it('a keyless account is an orphan without a correlation rule, with adopt never, or when two people share the value', () => {
    const listed = [has('a1', undefined, { userName: 'ada' })];
    expect(brief({ app: 'chat', desired: [want('E1', { userName: 'ada' })], listed })).toEqual(['orphan-account - a1', 'missing-account E1 -']);
    expect(brief({ app: 'chat', desired: [want('E1', { userName: 'ada' })], listed, correlation: { matchBy: 'userName', adopt: 'never' } })).toEqual(['orphan-account - a1', 'missing-account E1 -']);
    expect(brief({ app: 'chat', desired: [want('E1', { userName: 'ada' }), want('E2', { userName: 'ADA' })], listed, correlation: { matchBy: 'userName', adopt: 'automatic' } })).toEqual([
      'orphan-account - a1',
      'missing-account E1 -',
      'missing-account E2 -',
    ]);
  });

  it('a second account with one correlation key is an orphan', () => {
    expect(brief({ app: 'chat', desired: [want('E1')], listed: [has('a1', 'E1'), has('a2', 'E1')] })).toEqual(['orphan-account E1 a2']);
  });

  it('keeps personal values out of every detail', () => {
    const findings = classifyDrift({
      app: 'chat',
      desired: [want('E1', { email: 'ada@example.com', attributes: { displayName: 'Ada Lovelace' } }), want('E2', { email: 'bob@example.com' })],
      listed: [has('a1', 'E1', { attributes: { displayName: 'Ada Byron' } }), has('a2', undefined, { email: 'bob@example.com' }), has('a3', undefined, { email: 'eve@example.com' })],
      correlation: { matchBy: 'email', adopt: 'after-approval' },
    });
    expect(findings.map((f) => f.kind).sort()).toEqual(['attribute-drift', 'orphan-account', 'uncorrelated-account']);
    expect(JSON.stringify(findings)).not.toMatch(/example\.com|Ada|Byron|Lovelace/);
  });

  it('counts per kind and keys a finding the same way in every run', () => {
    const run = () => classifyDrift({ app: 'chat', desired: [want('E1')], listed: [has('a9', 'E9')] });
    expect(countByKind(run())).toMatchObject({ 'missing-account': 1, 'orphan-account': 1, 'wrong-state': 0 });
    expect(run().map(findingKey)).toEqual(run().map(findingKey));
  });

  it('classifies 20,000 accounts with 1 % missing entitlements exactly', () => {
    const desired: DesiredAccount[] = [];
    const listed: ListedAccount[] = [];
    for (let i = 0; i < 20_000; i++) {
      desired.push(want(`E${i}`, { entitlements: ['staff', 'eng'] }));
      listed.push(has(`a${i}`, `E${i}`, { entitlements: i % 100 === 0 ? ['staff'] : ['staff', 'eng'] }));
    }
    const counts = countByKind(classifyDrift({ app: 'chat', desired, listed }));
    expect(counts['missing-entitlement']).toBe(200);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(200);
  });
});

describe('when a reconciliation may remove', () => {
  const listing = { accounts: 100, complete: true, entitlementsUnknown: 0 };
  it('a complete listing close to the last one removes', () => {
    expect(removalBlocks({ listing, previousAccounts: 105, maxShrink: 0.1 })).toEqual([]);
    expect(removalBlocks({ listing: { ...listing, reportedTotal: 100 }, maxShrink: 0.1 })).toEqual([]);
  });
  it('a failed page, an empty listing, a shrunken listing, an unproven total or unknown memberships stop removals', () => {
    const rules = (l: Partial<typeof listing> & { reportedTotal?: number; failure?: string }, previousAccounts?: number) =>
      removalBlocks({ listing: { ...listing, ...l }, ...(previousAccounts !== undefined ? { previousAccounts } : {}), maxShrink: 0.1 }).map((b) => b.rule);
    expect(rules({ complete: false, failure: 'HTTP 503' })).toEqual(['failed-page']);
    expect(rules({ accounts: 0 }, 40)).toEqual(['empty-listing']);
    expect(rules({ accounts: 0 })).toEqual([]);
    expect(rules({ accounts: 89 }, 100)).toEqual(['shrank']);
    expect(rules({ accounts: 90 }, 100)).toEqual([]);
    expect(rules({ reportedTotal: 120 })).toEqual(['unproven-total']);
    expect(rules({ entitlementsUnknown: 3 })).toEqual(['entitlements-unknown']);
  });
});

describe('what a run does about its findings', () => {
  const desired = [want('E1', { entitlements: ['staff', 'eng'] }), want('E2'), want('E3', { active: false, entitlements: [] })];
  const listed = [has('a1', 'E1'), has('a2', 'E2', { entitlements: ['staff', 'admins'] }), has('a3', 'E3'), has('a9', 'E9')];
  const findings = classifyDrift({ app: 'chat', desired, listed, managedEntitlements: new Set(['staff', 'eng', 'admins']) });
  const states = new Map(listed.map((a) => [a.id, a]));
  const settings = (remediation: Record<string, string>) => reconcileSettings({ remediation: remediation as never }, undefined);
  const outcome = (d: ReturnType<typeof decide>) => Object.fromEntries(d.stored.map((f) => [`${f.kind} ${f.employeeId ?? f.accountId}`, f.remediation]));

  it('report is the default: nothing is asked, nothing disabled', () => {
    const d = decide(findings, settings({}), [], states, false);
    expect(d.reevaluate).toEqual([]);
    expect(d.disable).toEqual([]);
    expect(new Set(d.stored.map((f) => f.remediation))).toEqual(new Set(['report']));
  });

  it('fix asks the person\'s workflow; disable-orphans disables enabled orphans; a dry run only says would', () => {
    const s = settings({ 'missing-entitlement': 'fix', 'wrong-state': 'fix', 'extra-entitlement': 'fix', 'orphan-account': 'disable-orphans' });
    const real = decide(findings, s, [], states, false);
    expect(real.reevaluate.map((r) => r.employeeId).sort()).toEqual(['E1', 'E2', 'E3']);
    expect(real.disable.map((o) => o.account.id)).toEqual(['a9']);
    const dry = decide(findings, s, [], states, true);
    expect(dry.reevaluate).toEqual([]);
    expect(dry.disable).toEqual([]);
    expect(outcome(dry)).toMatchObject({ 'orphan-account a9': 'would disable', 'missing-entitlement E1': 'would fix: re-evaluation asked' });
  });

  it('a person with a finding the policy reports is not re-evaluated: an extra entitlement is never revoked behind its back', () => {
    const d = decide(findings, settings({ 'missing-entitlement': 'fix', 'wrong-state': 'fix' }), [], states, false);
    expect(d.reevaluate.map((r) => r.employeeId).sort()).toEqual(['E1', 'E3']);
    const both = classifyDrift({ app: 'chat', desired: [want('E1', { entitlements: ['staff', 'eng'] })], listed: [has('a1', 'E1', { entitlements: ['staff', 'admins'] })] });
    const held = decide(both, settings({ 'missing-entitlement': 'fix' }), [], states, false);
    expect(held.reevaluate).toEqual([]);
    expect(held.stored.find((f) => f.kind === 'missing-entitlement')?.remediation).toMatch(/^held: re-evaluating would also act on extra-entitlement/);
  });

  it('blocked removals: no orphan is disabled and no re-evaluation that would remove is asked; additions still are', () => {
    const blocks = removalBlocks({ listing: { accounts: 4, complete: false, failure: 'HTTP 503', entitlementsUnknown: 0 }, maxShrink: 0.1 });
    const d = decide(findings, settings({ 'missing-entitlement': 'fix', 'wrong-state': 'fix', 'extra-entitlement': 'fix', 'orphan-account': 'disable-orphans' }), blocks, states, false);
    expect(d.disable).toEqual([]);
    expect(d.reevaluate.map((r) => r.employeeId)).toEqual(['E1']);
    expect(outcome(d)).toMatchObject({ 'orphan-account a9': 'held: removals stopped (failed-page)', 'wrong-state E3': 'held: removals stopped (failed-page)' });
  });
});
