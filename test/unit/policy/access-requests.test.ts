import { describe, expect, it } from 'vitest';
import { approvalChainsFor, assessAccessRequest, resolveChain, type AccessAssessment, type AssessInput } from '../../../policy/access-requests.js';
import { evaluateIdentity } from '../../../policy/evaluator.js';
import type { Identity } from '../../../policy/identity.js';
import { baseFiles, compiled, NOW, person } from './fixtures.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// The fixture policy plus a vault whose entitlements take the application's sequential chain
// (manager → owner → security, reminded after 12 hours, escalated to finance leads), and a rule
// whose timeout is counted in months.
const policy = compiled({
  'vault.yaml': `approvals:
  - id: chain
    mode: sequential
    approvers: [manager, app-owner, security]
    timeout: P3D
    reminder: PT12H
    escalation: { after: P2D, to: "group:finance-leads" }
    onTimeout: escalate
  - { id: monthly, mode: any-of, approvers: ["group:finance-leads"], timeout: P1M }
applications:
  - id: vault
    connector: scim
    config: vault
    owner: owners
    classification: restricted
    approval: chain
    entitlements:
      - { id: root, sensitivity: privileged, maxDuration: PT8H }
      - { id: reader, maxDuration: P1M }
`,
});

/** The fixture's approvals.yaml with other approver groups (security stays). */
function baseApprovalsWith(groups: string): string {
  return baseFiles['approvals.yaml']!.replace(/approverGroups:\n( {2}- .*\n)+/, `approverGroups:\n${groups}\n  - { id: security, members: [S1, S2] }\n`);
}

function assess(request: Partial<AssessInput['request']> & { app: string; entitlementId: string }, opts: { identity?: Identity; current?: string[]; grants?: AssessInput['grants'] } = {}): AccessAssessment {
  return assessAccessRequest(policy, {
    identity: opts.identity ?? person(),
    current: opts.current ?? [],
    grants: opts.grants ?? [],
    request: { requesterId: 'R1', ...request },
    now: NOW,
  });
}

function blocked(a: AccessAssessment): string[] {
  expect(a.verdict, JSON.stringify(a)).toBe('blocked');
  return a.verdict === 'blocked' ? a.reasons : [];
}

function approval(a: AccessAssessment): Extract<AccessAssessment, { verdict: 'approval' }> {
  expect(a.verdict, JSON.stringify(a)).toBe('approval');
  if (a.verdict !== 'approval') throw new Error('not an approval');
  return a;
}

describe('who may not have the access: a blocked request says why', () => {
  it('an application the policy does not know is blocked, listing the ones it does', () => {
    expect(blocked(assess({ app: 'wiki', entitlementId: 'editors' }))).toEqual([expect.stringMatching(/unknown application "wiki" \(the policy's applications: chat, code, crm, directory, vault\)/)]);
  });

  it('an entitlement the application does not have is blocked, listing the ones it has', () => {
    expect(blocked(assess({ app: 'chat', entitlementId: 'random' }))).toEqual([expect.stringMatching(/unknown entitlement "chat:random" \(application chat has all-staff, eng\)/)]);
  });

  it('a terminated beneficiary gets no new access', () => {
    expect(blocked(assess({ app: 'chat', entitlementId: 'eng' }, { identity: person({ status: 'terminated' }) }))).toEqual(['E1 is terminated: a leaver gets no new access']);
  });

  it('a beneficiary without an HR status on record is blocked; active, pre-hire and on-leave are eligible', () => {
    expect(blocked(assess({ app: 'chat', entitlementId: 'eng' }, { identity: person({ status: undefined }) }))).toEqual([expect.stringMatching(/E1 has no employment status on record/)]);
    for (const status of ['active', 'pre-hire', 'on-leave'] as const) {
      expect(assess({ app: 'chat', entitlementId: 'eng' }, { identity: person({ status }) }).verdict).toBe('approval');
    }
  });

  it('someone on leave whose accounts the policy disables may still ask; the notes say the accounts wait for the return', () => {
    const disabling = compiled({ 'lifecycle.yaml': 'lifecycle:\n  onLeave: disable\n' });
    const a = assessAccessRequest(disabling, { identity: person({ status: 'on-leave' }), current: [], grants: [], request: { app: 'chat', entitlementId: 'eng', requesterId: 'R1' }, now: NOW });
    expect(approval(a).notes).toContainEqual('E1 is on leave and their accounts stay disabled until they return');
  });

  it('an application limited to other regions is blocked (data residency), and so is a beneficiary without a region', () => {
    expect(blocked(assess({ app: 'crm', entitlementId: 'users' }, { identity: person({ region: 'us' }) }))).toEqual(['crm does not allow region us (allowed: eu)']);
    expect(blocked(assess({ app: 'crm', entitlementId: 'users' }, { identity: person({ region: undefined }) }))).toEqual(['crm is limited to regions eu and E1 has no region']);
  });

  it('a duration longer than the entitlement\'s maximum is refused, naming the maximum; the maximum itself is fine', () => {
    expect(blocked(assess({ app: 'code', entitlementId: 'admin', duration: 'P60D' }))).toEqual([
      'requested duration P60D is longer than the maximum duration of code:admin, P30D: ask for P30D or less',
    ]);
    expect(blocked(assess({ app: 'vault', entitlementId: 'root', duration: 'P1D' }))).toEqual([expect.stringMatching(/maximum duration of vault:root, PT8H/)]);
    expect(approval(assess({ app: 'code', entitlementId: 'admin', duration: 'P30D' })).expiresAt).toBe('2026-02-04T10:00:00.000Z');
  });

  it('a duration that does not parse, or is empty, is refused', () => {
    expect(blocked(assess({ app: 'chat', entitlementId: 'eng', duration: '30 days' }))).toEqual([expect.stringMatching(/requested duration "30 days" is not a duration: expected an ISO 8601 duration/)]);
    expect(blocked(assess({ app: 'chat', entitlementId: 'eng', duration: 'PT0S' }))).toEqual([expect.stringMatching(/PT0S is empty/)]);
  });

  it('every reason is listed at once', () => {
    const reasons = blocked(assess({ app: 'crm', entitlementId: 'refund-issue', duration: 'P1D' }, { identity: person({ status: 'terminated', region: 'us' }) }));
    expect(reasons).toEqual([expect.stringMatching(/terminated/), expect.stringMatching(/region us/)]);
  });
});

describe('separation of duties, with the requested access held', () => {
  it('a blocking rule that names the requested entitlement blocks the request, naming the rule and what the person holds', () => {
    const checker = person({ title: 'Checker' });
    expect(blocked(assess({ app: 'crm', entitlementId: 'refund-issue' }, { identity: checker, current: ['crm:refund-approve'] }))).toEqual([
      'separation-of-duties rule refunds blocks holding crm:refund-issue together with crm:refund-approve (through role checker)',
    ]);
  });

  it('access held through an approved grant conflicts too', () => {
    const reasons = blocked(assess({ app: 'crm', entitlementId: 'refund-approve' }, { grants: [{ id: 'g1', entitlement: 'crm:refund-issue', grantedAt: NOW }] }));
    expect(reasons).toEqual(['separation-of-duties rule refunds blocks holding crm:refund-approve together with crm:refund-issue (through grant g1)']);
  });

  it('a blocking conflict the request is no part of does not block it', () => {
    // A level-9 maker is both maker and checker already; asking for chat:eng has nothing to do with it.
    const both = person({ title: 'Maker', extensions: { level: 9 } });
    expect(evaluateIdentity(policy, { identity: both, now: NOW }).sod.map((c) => c.rule)).toEqual(['refunds']);
    expect(assess({ app: 'chat', entitlementId: 'eng' }, { identity: both }).verdict).toBe('approval');
  });

  it('a review rule adds its approval as a second chain (reason separation-of-duties), next to the entitlement\'s own', () => {
    const author = person({ title: 'Author' });
    const a = approval(assess({ app: 'code', entitlementId: 'release-approver' }, { identity: author, current: ['code:release-author'] }));
    expect(a.chains.map((c) => [c.rule, c.reason, c.sodRule])).toEqual([
      ['mgr', 'entitlement', undefined],
      ['sec', 'separation-of-duties', 'release'],
    ]);
    expect(a.chains[1]).toEqual({
      entitlement: 'code:release-approver',
      rule: 'sec',
      reason: 'separation-of-duties',
      sodRule: 'release',
      mode: 'any-of',
      required: 1,
      slots: [{ label: 'security', eligible: ['S1', 'S2'] }],
      timeoutMs: 2 * DAY,
      onTimeout: 'reject',
      reminderMs: DAY,
    });
    expect(a.notes).toContainEqual(expect.stringMatching(/separation-of-duties rule release asks for a review of holding code:release-approver together with code:release-author \(through role author\)/));
  });

  it('without the conflicting access, the same request needs only the entitlement\'s chain', () => {
    const a = approval(assess({ app: 'code', entitlementId: 'release-approver' }));
    expect(a.chains.map((c) => c.rule)).toEqual(['mgr']);
  });
});

describe('approval chains, resolved to the people who may approve', () => {
  it('any-of manager: the beneficiary\'s manager; the timeout defaults to P7D and the reminder to half of it', () => {
    const a = approval(assess({ app: 'code', entitlementId: 'release-approver' }));
    expect(a.chains).toEqual([
      {
        entitlement: 'code:release-approver',
        rule: 'mgr',
        reason: 'entitlement',
        mode: 'any-of',
        required: 1,
        slots: [{ label: 'manager', eligible: ['M1'] }],
        timeoutMs: 7 * DAY,
        onTimeout: 'reject',
        reminderMs: 3.5 * DAY,
      },
    ]);
  });

  it('n-of-m: `required` distinct approvals from the manager, the owner group and a named group', () => {
    const [chain] = approval(assess({ app: 'code', entitlementId: 'admin' })).chains;
    expect(chain).toMatchObject({
      rule: 'two',
      mode: 'n-of-m',
      required: 2,
      slots: [
        { label: 'manager', eligible: ['M1'] },
        { label: 'app-owner:owners', eligible: ['O1', 'O2'] },
        { label: 'group:finance-leads', eligible: ['F1', 'F2', 'F3'] },
      ],
    });
  });

  it('sequential from the application\'s rule: one slot per stage, the reminder and escalation it sets, in milliseconds', () => {
    const [chain] = approval(assess({ app: 'vault', entitlementId: 'root' })).chains;
    expect(chain).toEqual({
      entitlement: 'vault:root',
      rule: 'chain',
      reason: 'entitlement',
      mode: 'sequential',
      required: 1,
      slots: [
        { label: 'manager', eligible: ['M1'] },
        { label: 'app-owner:owners', eligible: ['O1', 'O2'] },
        { label: 'security', eligible: ['S1', 'S2'] },
      ],
      timeoutMs: 3 * DAY,
      escalation: { afterMs: 2 * DAY, slot: { label: 'group:finance-leads', eligible: ['F1', 'F2', 'F3'] } },
      onTimeout: 'escalate',
      reminderMs: 12 * HOUR,
    });
  });

  it('no manager on record: the manager slot is empty, and the notes say the gate cannot fill it', () => {
    const a = approval(assess({ app: 'vault', entitlementId: 'root' }, { identity: person({ managerId: undefined }) }));
    expect(a.chains[0]!.slots[0]).toEqual({ label: 'manager', eligible: [] });
    expect(a.notes).toContainEqual('chain: nobody but the requester or the beneficiary can act as manager; it goes to group:finance-leads at once');
  });

  it('a requester who is the only possible approver is noted (the gate never lets them decide)', () => {
    const a = approval(assess({ app: 'code', entitlementId: 'release-approver', requesterId: 'M1' }));
    expect(a.notes).toContainEqual('mgr: 1 approval(s) needed, and only 0 can come from someone other than the requester or the beneficiary (manager); the request will be rejected');
  });

  it('the requester is excluded as an approver whatever the case of their id', () => {
    const a = approval(assess({ app: 'code', entitlementId: 'release-approver', requesterId: 'm1' }));
    expect(a.notes).toContainEqual('mgr: 1 approval(s) needed, and only 0 can come from someone other than the requester or the beneficiary (manager); the request will be rejected');
  });

  it('n-of-m is short of approvers only when too few slots are left to fill, not when one slot is empty', () => {
    const noManager = approval(assess({ app: 'code', entitlementId: 'admin' }, { identity: person({ managerId: undefined }) }));
    expect(noManager.notes.filter((n) => n.startsWith('two:'))).toEqual([]);
    const owner = compiled({ 'approvals.yaml': baseApprovalsWith('  - { id: owners, members: [O1] }\n  - { id: finance-leads, members: [O1] }') });
    const a = assessAccessRequest(owner, { identity: person({ managerId: undefined }), current: [], grants: [], request: { app: 'code', entitlementId: 'admin', requesterId: 'R1' }, now: NOW });
    // O1 stands in two slots but counts once: 1 of the 2 approvals needed.
    expect(approval(a).notes).toContainEqual(expect.stringMatching(/^two: 2 approval\(s\) needed, and only 1 can come from someone other than the requester or the beneficiary/));
  });

  it('an entitlement without an approval rule needs none, and the notes say so', () => {
    const a = approval(assess({ app: 'crm', entitlementId: 'users' }));
    expect(a.chains).toEqual([]);
    expect(a.notes).toContainEqual('no approval rule applies to crm:users (none on the entitlement or on application crm): it is granted without approval');
  });

  it('a month in a timeout counts 30 days', () => {
    expect(resolveChain(policy, { rule: 'monthly', entitlement: 'vault:reader', identity: person(), reason: 'entitlement' })).toMatchObject({ timeoutMs: 30 * DAY, reminderMs: 15 * DAY });
  });

  it('an unknown rule or entitlement is a programming error', () => {
    expect(() => resolveChain(policy, { rule: 'nope', entitlement: 'vault:reader', identity: person(), reason: 'entitlement' })).toThrow(RangeError);
    expect(() => resolveChain(policy, { rule: 'mgr', entitlement: 'vault:nope', identity: person(), reason: 'entitlement' })).toThrow(/unknown entitlement "vault:nope"/);
  });
});

describe('how long the access lasts, and whether it is held already', () => {
  it('without a duration, the grant ends after the entitlement\'s maximum; with one, after that', () => {
    expect(approval(assess({ app: 'code', entitlementId: 'admin' })).expiresAt).toBe('2026-02-04T10:00:00.000Z');
    expect(approval(assess({ app: 'code', entitlementId: 'admin', duration: 'P7D' })).expiresAt).toBe('2026-01-12T10:00:00.000Z');
    expect(approval(assess({ app: 'code', entitlementId: 'admin' })).notes).toContainEqual('no duration was asked for: the maximum of code:admin, P30D, applies');
  });

  it('months follow the calendar', () => {
    expect(approval(assess({ app: 'vault', entitlementId: 'reader', duration: 'P1M' })).expiresAt).toBe('2026-02-05T10:00:00.000Z');
  });

  it('an entitlement without a maximum lasts as asked, or has no end', () => {
    expect(approval(assess({ app: 'chat', entitlementId: 'eng', duration: 'PT4H' })).expiresAt).toBe('2026-01-05T14:00:00.000Z');
    expect(approval(assess({ app: 'chat', entitlementId: 'eng' }))).not.toHaveProperty('expiresAt');
  });

  it('access the person holds now is flagged as already held', () => {
    expect(approval(assess({ app: 'chat', entitlementId: 'eng' }, { current: ['chat:eng'] })).alreadyHeld).toBe(true);
    expect(approval(assess({ app: 'chat', entitlementId: 'eng' }, { current: ['chat:all-staff'] })).alreadyHeld).toBe(false);
  });

  it('the assessment is JSON-plain (it travels through a workflow)', () => {
    const a = assess({ app: 'code', entitlementId: 'release-approver' }, { identity: person({ title: 'Author' }) });
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });
});

describe('approval chains of sensitive birthright steps', () => {
  it('the planner\'s rule ids become the entitlement\'s chain and the review rule\'s chain, with their reasons', () => {
    // A lead author gets release-author and release-approver by birthright: the approver needs mgr, and sec for the review.
    const leadAuthor = person({ title: 'Lead Author' });
    const rules = evaluateIdentity(policy, { identity: leadAuthor, now: NOW })
      .approvals.filter((n) => n.entitlement === 'code:release-approver')
      .map((n) => n.rule);
    expect(rules).toEqual(['mgr', 'sec']);
    const chains = approvalChainsFor(policy, { identity: leadAuthor, entitlement: 'code:release-approver', rules });
    expect(chains.map((c) => [c.rule, c.reason, c.sodRule, c.slots.map((s) => s.label)])).toEqual([
      ['mgr', 'entitlement', undefined, ['manager']],
      ['sec', 'separation-of-duties', 'release', ['security']],
    ]);
  });

  it('a rule listed twice is resolved once; none listed is no chain', () => {
    expect(approvalChainsFor(policy, { identity: person(), entitlement: 'code:admin', rules: ['two', 'two'] })).toHaveLength(1);
    expect(approvalChainsFor(policy, { identity: person(), entitlement: 'code:admin', rules: [] })).toEqual([]);
  });
});
