// Planning: the diff between desired access (policy/evaluator.ts) and what the person actually has,
// per application, as ordered steps in the connector contract's vocabulary (connectors/contract.ts).
//   joiner/mover: ensureAccount (or enableAccount) before any grant; additions now; what is lost is
//                 revoked after the mover grace period (at once when region rules forbid it, when
//                 the grant behind it expired, or when keeping it would break a blocking SoD rule
//                 next to the additions);
//   leaver:       disableAccount before revoke, deleteAccount after the leaver deletion delay;
//   on leave:     accounts disabled when lifecycle.onLeave is `disable`, enabled on return.
// An application that could not say what the person holds (`membershipsUnknown`) gets its grants
// as usual (a grant of something held is harmless) but no revokes: nothing held is known. The
// plan reports it (`unread`) so the change does not end as if everything was converged.
// Pure: identity, actual state and time in, JSON-plain steps out.
import type { AccountRef } from '../connectors/contract.js';
import type { FencedAction } from '../schemas/policy.js';
import { fencesAction } from './fencing.js';
import type { ApprovalNeed } from './approvals.js';
import { entitlementRef, type CompiledPolicy } from './compile.js';
import { addDuration } from '../schemas/durations.js';
import { holdForDataQuality, type DuplicateValue, type Held } from './data-quality.js';
import { futureTermination, prehireOf } from './dated.js';
import { attributeUpdates, creationAttributes } from './attribute-sync.js';
import { evaluateIdentity, type DesiredAccess, type Grant, type SodConflict, type Withheld } from './evaluator.js';
import type { Identity } from './identity.js';
import { holdAccountsForApprovals } from './least-privilege.js';
import type { ManagerAccounts } from './manager-attribute.js';
import { sodConflicts } from './sod.js';

/** What the person has in one application (from the store or a connector's listing). */
export type ActualAccount = {
  app: string;
  account: AccountRef;
  active: boolean;
  /** Entitlement ids held in the application. */
  entitlements: readonly string[];
  /** Set when the application could not say what the account holds (why): `entitlements` is then not the truth. */
  membershipsUnknown?: string;
  /** The mapped attributes the account holds (policy/attribute-map.ts); absent: not read, nothing is updated. */
  attributes?: Readonly<Record<string, string>>;
};

/** One attribute of an updateAccount step: the value the application has (null: none) and the one it gets (null: cleared). */
export type AttributeChange = { from: string | null; to: string | null };

export type StepAction = 'ensureAccount' | 'enableAccount' | 'updateAccount' | 'grant' | 'revoke' | 'disableAccount' | 'deleteAccount';

export type PlanStep = {
  /** Stable within the plan: `${action}/${app}[/${entitlementId}]` (for idempotency keys). */
  key: string;
  action: StepAction;
  app: string;
  /** The account, when it exists already. */
  account?: AccountRef;
  /** For grant and revoke. */
  entitlementId?: string;
  /** Why, in words: the rules, roles and grants behind a grant; the cause of a removal. */
  reason: string;
  /** Scheduled steps: the ISO 8601 delay and the time (effectiveAt + delay) they may run from. */
  after?: string;
  notBefore?: string;
  /** Approval rules that must approve before the step runs. */
  approvals?: string[];
  /** For ensureAccount: how an existing account may be adopted (the application's correlation rule). */
  correlation?: { matchBy: 'email' | 'userName'; adopt: 'automatic' | 'after-approval' | 'never'; approval?: string };
  /** Destructive steps ask the fence first; grants too where the policy sets a threshold for them. */
  fenced?: FencedAction;
  /** For ensureAccount: false makes the account disabled (a future start: enabled at the start, policy/dated.ts). */
  active?: false;
  /** For ensureAccount: made with the first approved grant of its application, not before (policy/least-privilege.ts). */
  untilApproved?: true;
  /**
   * updateAccount: exactly the attributes that differ (policy/attribute-sync.ts); ensureAccount of an
   * application that declares `attributes`: the values the account is created with (from null).
   */
  attributes?: Record<string, AttributeChange>;
  /** Planned for a human (why, and what to do): the step is recorded action-required and nothing is called. */
  actionRequired?: string;
  /**
   * A grant on an account whose memberships could not be read (`membershipsUnknown`): the person
   * may hold it already, so its `already-in-state` answer is no proof this change made it (the saga forgets its undo).
   */
  mayBeHeld?: true;
};

export type PlanKind = 'joiner' | 'mover' | 'leaver' | 'on-leave' | 'no-change';

export type Plan = {
  policyVersion: string;
  employeeId: string;
  kind: PlanKind;
  steps: PlanStep[];
  approvals: ApprovalNeed[];
  withheld: Withheld[];
  sod: SodConflict[];
  /** Entitlements the person holds that the policy does not know: left alone, reported. */
  unmanaged: { app: string; entitlementId: string }[];
  /**
   * Applications whose memberships could not be read, and why: what should be revoked there is
   * not planned. Absent when every application could say (and in plans from before it existed).
   */
  unread?: { app: string; reason: string }[];
  /**
   * What HR data quality held (policy/data-quality.ts): two people claiming one e-mail, a missing
   * `whenMissing: hold` attribute. The change ends action-required with these reasons.
   */
  held?: Held[];
  /** When to plan the person again though nothing changes (a prehire window opens), and why. */
  wakeAt?: string;
  wakeReason?: string;
};

export type PlanInput = {
  identity: Identity;
  actual: readonly ActualAccount[];
  grants?: readonly Grant[];
  /** Planning time; scheduled steps count from identity.effectiveAt, else from this. */
  now: string;
  /** Values of the person's that other people claim too (from the store). */
  duplicates?: readonly DuplicateValue[];
  /** The manager's account handle per application that maps `manager` (policy/manager-attribute.ts). */
  managerAccounts?: ManagerAccounts;
};

/** Evaluates the identity and plans the difference: the usual entry point. */
export function planIdentity(policy: CompiledPolicy, input: PlanInput): { plan: Plan; desired: DesiredAccess } {
  const current = input.actual.flatMap((a) => a.entitlements.map((id) => entitlementRef(a.app, id)));
  const desired = evaluateIdentity(policy, { identity: input.identity, grants: input.grants ?? [], current, now: input.now });
  return { plan: holdForDataQuality(policy, planChanges(policy, { ...input, desired }), input), desired };
}

// Phases, in the order steps run.
const PHASE = {
  leaverDisable: 0,
  leaverRevoke: 1,
  leaverDelete: 2,
  account: 10,
  /** After enabling, before grants: attribute updates of the accounts the person keeps. */
  accountUpdate: 10.5,
  revokeFirst: 11,
  grant: 12,
  revokeNow: 13,
  disableNow: 14,
  revokeLater: 15,
  disableLater: 16,
  enableAtStart: 17,
} as const;

type Phased = PlanStep & { phase: number };

/** The steps from `actual` to `desired`. */
export function planChanges(policy: CompiledPolicy, input: PlanInput & { desired: DesiredAccess }): Plan {
  const { identity, desired, actual } = input;
  const base = identity.effectiveAt ?? input.now;
  const { lifecycle } = policy.model;
  // A surge of grants trips the fence like a surge of removals, where the policy sets a threshold for grants.
  const fenceGrants = fencesAction(policy.model.fencing, 'grant');
  const steps: Phased[] = [];
  const unmanaged: Plan['unmanaged'] = [];
  const step = (phase: number, s: Omit<PlanStep, 'key'> & { key?: string }): void => {
    steps.push({ phase, key: `${s.action}/${s.app}${s.entitlementId !== undefined ? `/${s.entitlementId}` : ''}`, ...s });
  };
  const later = (after: string): { after: string; notBefore: string } => ({ after, notBefore: addDuration(base, after) });
  const managed = (app: string, id: string): boolean => {
    if (policy.entitlements.has(entitlementRef(app, id))) return true;
    unmanaged.push({ app, entitlementId: id });
    return false;
  };
  const accounts = actual.filter((a) => policy.applications.has(a.app));
  // Only plans that revoke can miss a revoke: on leave, nothing is revoked whatever is held.
  const revokes = identity.status !== 'on-leave' || lifecycle.onLeave !== 'disable';
  const unread = revokes ? accounts.flatMap((a) => (a.membershipsUnknown !== undefined ? [{ app: a.app, reason: a.membershipsUnknown }] : [])) : [];

  const prehire = prehireOf(policy, identity, input.now);
  let kind: PlanKind;
  if (identity.status === 'terminated') {
    kind = 'leaver';
    // A future last day: nothing changes until then.
    const ends = futureTermination(identity, input.now);
    for (const a of accounts) {
      if (a.active) step(PHASE.leaverDisable, { action: 'disableAccount', app: a.app, account: a.account, reason: ends ? `leaver: access ends at ${ends.notBefore}` : 'leaver: access ends now', ...ends, fenced: 'disableAccount' });
      for (const id of a.entitlements) {
        if (managed(a.app, id)) step(PHASE.leaverRevoke, { action: 'revoke', app: a.app, account: a.account, entitlementId: id, reason: ends ? `leaver: revoked at ${ends.notBefore}` : 'leaver', ...ends, fenced: 'revoke' });
      }
      step(PHASE.leaverDelete, {
        action: 'deleteAccount',
        app: a.app,
        account: a.account,
        reason: `leaver: deleted after the deletion delay (${lifecycle.leaverDeletionDelay})`,
        ...later(lifecycle.leaverDeletionDelay),
        fenced: 'deleteAccount',
      });
    }
  } else if (identity.status === 'on-leave' && lifecycle.onLeave === 'disable') {
    kind = 'on-leave';
    for (const a of accounts) {
      if (a.active) step(PHASE.leaverDisable, { action: 'disableAccount', app: a.app, account: a.account, reason: 'on leave: disabled until the return (lifecycle.onLeave: disable)', fenced: 'disableAccount' });
    }
  } else {
    const byApp = new Map(accounts.map((a) => [a.app, a]));
    const desiredRefs = new Set(desired.entitlements.map((e) => e.entitlement));
    const regionWithheld = new Map(desired.withheld.filter((w) => w.reason === 'region').map((w) => [w.entitlement, w.detail]));
    const approvalsFor = new Map<string, string[]>();
    for (const need of desired.approvals) approvalsFor.set(need.entitlement, [...(approvalsFor.get(need.entitlement) ?? []), need.rule]);

    // Accounts first.
    for (const app of desired.applications) {
      const a = byApp.get(app);
      if (!a) {
        if (prehire?.waits(app)) continue;
        const decl = policy.applications.get(app)!;
        const { attributes, note } = creationAttributes(policy, identity, app, input.managerAccounts);
        step(PHASE.account, {
          action: 'ensureAccount',
          app,
          reason: `needed for ${desired.entitlements.filter((e) => e.app === app).map((e) => e.entitlement).join(', ')}${prehire ? ` (prehire: disabled until the start ${prehire.start})` : ''}${note ? `; ${note}` : ''}`,
          ...(decl.correlation ? { correlation: { ...decl.correlation, ...(decl.correlation.adopt === 'after-approval' ? { approval: decl.correlation.approval ?? decl.approval! } : {}) } } : {}),
          ...(prehire ? { active: false as const } : {}),
          ...(attributes ? { attributes } : {}),
        });
        if (prehire) step(PHASE.enableAtStart, { action: 'enableAccount', app, reason: `prehire: enabled at the start ${prehire.start}`, ...prehire.atStart() });
      } else if (!a.active) {
        if (prehire) step(PHASE.enableAtStart, { action: 'enableAccount', app, account: a.account, reason: `prehire: enabled at the start ${prehire.start}`, ...prehire.atStart() });
        else step(PHASE.account, { action: 'enableAccount', app, account: a.account, reason: identity.status === 'on-leave' ? 'enabled: access is desired' : 'returning: access is desired again' });
      }
    }

    // Attribute updates of the accounts the person keeps.
    for (const update of attributeUpdates(policy, identity, desired.applications.flatMap((app) => byApp.get(app) ?? []), input.managerAccounts)) step(PHASE.accountUpdate, update);

    // Additions.
    for (const e of desired.entitlements) {
      const a = byApp.get(e.app);
      if (a?.entitlements.includes(e.id)) continue;
      if (!a && prehire?.waits(e.app)) continue;
      const approvals = approvalsFor.get(e.entitlement);
      step(PHASE.grant, {
        action: 'grant',
        app: e.app,
        ...(a ? { account: a.account } : {}),
        ...(a?.membershipsUnknown !== undefined ? { mayBeHeld: true as const } : {}),
        entitlementId: e.id,
        reason: provenance(e),
        ...(approvals ? { approvals } : {}),
        ...(fenceGrants ? { fenced: 'grant' as const } : {}),
      });
    }

    // Removals: what is held, managed and no longer desired.
    const expired = new Set((input.grants ?? []).filter((g) => desired.expiredGrants.includes(g.id)).map((g) => g.entitlement));
    const removals: { a: ActualAccount; id: string; ref: string }[] = [];
    for (const a of accounts) {
      for (const id of a.entitlements) {
        const ref = entitlementRef(a.app, id);
        if (!managed(a.app, id) || desiredRefs.has(ref)) continue;
        removals.push({ a, id, ref });
      }
    }
    // Kept through the grace period, would a removal sit next to an addition a blocking SoD rule forbids?
    const blocking = policy.sod.filter((r) => r.severity === 'block');
    const soon = new Set<string>();
    if (blocking.length > 0 && removals.length > 0) {
      const during = new Set([...desiredRefs, ...removals.map((r) => r.ref)]);
      for (const m of sodConflicts(blocking, { roles: new Set(), entitlements: during })) {
        if (sodConflicts([m.rule], { roles: new Set(), entitlements: desiredRefs }).length > 0) continue;
        for (const member of m.members) if (member.kind === 'entitlement' && !desiredRefs.has(member.id)) soon.add(member.id);
      }
    }
    for (const { a, id, ref } of removals) {
      const common = { action: 'revoke' as const, app: a.app, account: a.account, entitlementId: id, fenced: 'revoke' as const };
      if (regionWithheld.has(ref)) step(PHASE.revokeNow, { ...common, reason: `region rules: ${regionWithheld.get(ref)}` });
      else if (soon.has(ref)) step(PHASE.revokeFirst, { ...common, reason: 'removed before the additions: keeping it through the grace period would break a blocking separation-of-duties rule' });
      else if (expired.has(ref)) step(PHASE.revokeNow, { ...common, reason: 'the grant expired' });
      else step(PHASE.revokeLater, { ...common, reason: `no longer desired (mover grace period ${lifecycle.moverGracePeriod})`, ...later(lifecycle.moverGracePeriod) });
    }

    // Accounts no longer needed: disabled once their access is gone.
    const desiredApps = new Set(desired.applications);
    for (const a of accounts) {
      if (desiredApps.has(a.app) || !a.active) continue;
      const allowed = policy.applications.get(a.app)!.allowedRegions;
      if (allowed && !(identity.region !== undefined && allowed.includes(identity.region))) step(PHASE.disableNow, { action: 'disableAccount', app: a.app, account: a.account, reason: 'region rules: the application does not allow the identity\'s region', fenced: 'disableAccount' });
      else step(PHASE.disableLater, { action: 'disableAccount', app: a.app, account: a.account, reason: `no access left in ${a.app} (mover grace period ${lifecycle.moverGracePeriod})`, ...later(lifecycle.moverGracePeriod), fenced: 'disableAccount' });
    }
    kind = steps.length === 0 ? 'no-change' : accounts.length === 0 ? 'joiner' : 'mover';
  }

  steps.sort((x, y) => x.phase - y.phase || (x.app < y.app ? -1 : x.app > y.app ? 1 : 0) || ((x.entitlementId ?? '') < (y.entitlementId ?? '') ? -1 : 1));
  const wake = prehire?.wake();
  return {
    policyVersion: policy.version,
    employeeId: identity.employeeId,
    kind: steps.length === 0 ? 'no-change' : kind,
    steps: holdAccountsForApprovals(steps.map(({ phase: _phase, ...s }) => s)),
    approvals: desired.approvals,
    withheld: desired.withheld,
    sod: desired.sod,
    unmanaged,
    ...(unread.length > 0 ? { unread } : {}),
    ...wake,
  };
}

function provenance(e: DesiredAccess['entitlements'][number]): string {
  const parts: string[] = [];
  if (e.rules.length > 0) parts.push(`birthright ${e.rules.join(', ')}`);
  if (e.roles.length > 0) parts.push(`role ${e.roles.join(', ')}`);
  if (e.grants.length > 0) parts.push(`grant ${e.grants.join(', ')}`);
  return parts.join('; ');
}
