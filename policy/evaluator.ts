// Desired access for one identity (docs/architecture.md#policy):
//   closure(roles of the birthright rules that match) ∪ active grants
//   − what region rules forbid − new access a blocking separation-of-duties rule withholds,
// each entitlement with its provenance (rule ids, roles, grant ids), the SoD conflicts (through
// inheritance too) and the approvals each new entitlement needs. Pure: the same policy, identity,
// grants, current access and `now` give the same JSON-plain result.
import { addDuration } from '../schemas/durations.js';
import { approvalNeed, type ApprovalNeed } from './approvals.js';
import { evaluateCondition } from './cel.js';
import type { CompiledPolicy } from './compile.js';
import type { Identity, InvalidAttribute } from './identity.js';
import { sodConflicts, type SodMember } from './sod.js';

/** An approved grant (from an access request or an exception). */
export type Grant = {
  id: string;
  /** `app:id` */
  entitlement: string;
  grantedAt: string;
  /** Absent: until revoked, or until the entitlement's maxDuration after grantedAt. */
  expiresAt?: string;
  ticketId?: string;
};

export type EvaluateInput = {
  identity: Identity;
  /** Approved grants; expired ones are reported and ignored. */
  grants?: readonly Grant[];
  /** Entitlements (`app:id`) the person holds now: what is not among them is new. */
  current?: readonly string[];
  /** ISO timestamp the grants' expiry is judged at. */
  now: string;
};

export type RoleHolding = {
  id: string;
  /** Birthright rules that bring the role (directly or through a role that inherits it). */
  rules: string[];
  /** Rules that assign this role directly. */
  assignedBy: string[];
  /** Held roles that inherit this one directly. */
  inheritedBy: string[];
};

export type EntitlementHolding = {
  entitlement: string;
  app: string;
  id: string;
  sensitivity: string;
  /** Birthright rules behind it. */
  rules: string[];
  /** Held roles that bundle it directly. */
  roles: string[];
  /** Active grants of it. */
  grants: string[];
  /** The person does not hold it yet. */
  isNew: boolean;
};

export type SodConflict = {
  rule: string;
  severity: 'block' | 'review';
  description?: string;
  /** The members held, each with what brings it. */
  members: (SodMember & { rules: string[]; roles: string[]; grants: string[] })[];
};

export type Withheld = { entitlement: string; reason: 'region' | 'separation-of-duties'; detail: string; rules: string[]; roles: string[]; grants: string[] };

/** A rule that did not match because it needed missing attributes, or failed for this person. */
export type RuleSkipped = { rule: string; missing?: string[]; error?: string };

export type DesiredAccess = {
  policyVersion: string;
  employeeId: string;
  /** Why nothing is desired, when nothing is (a leaver). */
  note?: string;
  /** Birthright rules that matched, in policy order; rules in neither list evaluated to false. */
  matchedRules: string[];
  skippedRules: RuleSkipped[];
  roles: RoleHolding[];
  entitlements: EntitlementHolding[];
  /** Applications the person should have an account in. */
  applications: string[];
  withheld: Withheld[];
  sod: SodConflict[];
  approvals: ApprovalNeed[];
  invalidAttributes: InvalidAttribute[];
  expiredGrants: string[];
  unknownGrants: string[];
};

/** Provenance lists keep policy order (rules and roles as the files list them), which is deterministic. */
const list = (s: readonly string[]): string[] => s.slice();
const sorted = (s: ReadonlySet<string> | readonly string[]): string[] => [...s].sort();

// Small lists (a few rules and roles per entitlement): arrays with a membership check beat Sets.
type Acc = { rules: string[]; roles: string[]; grants: string[] };

const addTo = (to: string[], item: string): void => {
  if (!to.includes(item)) to.push(item);
};

export function evaluateIdentity(policy: CompiledPolicy, input: EvaluateInput): DesiredAccess {
  const { identity } = input;
  const result: DesiredAccess = {
    policyVersion: policy.version,
    employeeId: identity.employeeId,
    matchedRules: [],
    skippedRules: [],
    roles: [],
    entitlements: [],
    applications: [],
    withheld: [],
    sod: [],
    approvals: [],
    invalidAttributes: [],
    expiredGrants: [],
    unknownGrants: [],
  };
  if (identity.status === 'terminated') {
    result.note = 'terminated: a leaver has no desired access';
    return result;
  }

  // 1. Birthright rules → roles, with the rules behind each role.
  const { context, invalid } = policy.readAttributes(identity);
  result.invalidAttributes = invalid;
  const roleRules = new Map<string, string[]>();
  const assignedBy = new Map<string, string[]>();
  for (const rule of policy.rules) {
    const outcome = evaluateCondition(rule.condition, context);
    if (!outcome.matched) {
      if (outcome.missing) result.skippedRules.push({ rule: rule.id, missing: outcome.missing });
      else if (outcome.error) result.skippedRules.push({ rule: rule.id, error: outcome.error });
      continue;
    }
    result.matchedRules.push(rule.id);
    for (const r of rule.closure) {
      const rules = roleRules.get(r);
      if (rules) rules.push(rule.id);
      else roleRules.set(r, [rule.id]);
    }
    for (const r of rule.roles) {
      const by = assignedBy.get(r) ?? [];
      by.push(rule.id);
      assignedBy.set(r, by);
    }
  }

  // 2. Roles → entitlements (diamonds: each role once, its rules merged).
  const acc = new Map<string, Acc>();
  const entry = (ref: string): Acc => {
    let a = acc.get(ref);
    if (!a) acc.set(ref, (a = { rules: [], roles: [], grants: [] }));
    return a;
  };
  const inheritedBy = new Map<string, string[]>();
  for (const [roleId, rules] of roleRules) {
    const role = policy.roles.get(roleId)!;
    for (const parent of role.decl.inherits) {
      if (!roleRules.has(parent)) continue;
      const by = inheritedBy.get(parent) ?? [];
      by.push(roleId);
      inheritedBy.set(parent, by);
    }
    for (const ref of role.decl.entitlements) {
      const a = entry(ref);
      a.roles.push(roleId);
      for (const r of rules) addTo(a.rules, r);
    }
  }

  // 3. Active grants.
  for (const grant of input.grants ?? []) {
    const ent = policy.entitlements.get(grant.entitlement);
    if (!ent) {
      result.unknownGrants.push(grant.id);
      continue;
    }
    let expiry = grant.expiresAt;
    if (ent.decl.maxDuration) {
      const cap = addDuration(grant.grantedAt, ent.decl.maxDuration);
      if (expiry === undefined || Date.parse(cap) < Date.parse(expiry)) expiry = cap;
    }
    if (expiry !== undefined && Date.parse(expiry) <= Date.parse(input.now)) {
      result.expiredGrants.push(grant.id);
      continue;
    }
    entry(grant.entitlement).grants.push(grant.id);
  }

  const current = new Set(input.current ?? []);
  const withhold = (ref: string, reason: Withheld['reason'], detail: string): void => {
    const a = acc.get(ref)!;
    result.withheld.push({ entitlement: ref, reason, detail, rules: list(a.rules), roles: list(a.roles), grants: list(a.grants) });
    acc.delete(ref);
  };

  // 4. Region rules (data residency): the identity's region must be allowed by the application.
  const region = identity.region;
  for (const ref of acc.keys()) {
    const { app, allowedRegions } = policy.entitlements.get(ref)!;
    if (!allowedRegions || (region !== undefined && allowedRegions.includes(region))) continue;
    // Deleting the current key while iterating a Map is safe.
    withhold(ref, 'region', region === undefined ? `${app} is limited to regions ${allowedRegions.join(', ')} and the identity has no region` : `${app} does not allow region ${region} (allowed: ${allowedRegions.join(', ')})`);
  }

  // 5. Separation of duties over roles (as held, through inheritance) and entitlements.
  const conflicts = sodConflicts(policy.sod, { roles: roleRules, entitlements: acc });
  const reviewNeeds: { ref: string; sodRule: string; approval: string }[] = [];
  for (const { rule, members } of conflicts) {
    result.sod.push({
      rule: rule.id,
      severity: rule.severity,
      ...(rule.description ? { description: rule.description } : {}),
      members: members.map((m) => {
        if (m.kind === 'role') return { ...m, rules: list(roleRules.get(m.id) ?? []), roles: [m.id], grants: [] };
        const a = acc.get(m.id)!;
        return { ...m, rules: list(a.rules), roles: list(a.roles), grants: list(a.grants) };
      }),
    });
    // The new access involved: member entitlements, and what is held only because of a member
    // role (not what a member role shares with the person's other roles, such as a base role).
    const memberRoles = members.filter((m) => m.kind === 'role').map((m) => m.id);
    const otherwise: { has(id: string): boolean } = memberRoles.length === 0 ? roleRules : rolesWithout(policy, [...assignedBy.keys()], new Set(memberRoles));
    const memberEntitlements = new Set(members.filter((m) => m.kind === 'entitlement').map((m) => m.id));
    const involved = [...acc.entries()]
      .filter(([ref, a]) => !current.has(ref) && (memberEntitlements.has(ref) || (a.grants.length === 0 && !a.roles.some((r) => otherwise.has(r)))))
      .map(([ref]) => ref);
    if (rule.severity === 'block') {
      const detail = `separation-of-duties rule ${rule.id} blocks holding ${members.map((m) => (m.kind === 'role' ? `role ${m.id}` : m.id)).join(' and ')}`;
      for (const ref of involved) if (acc.has(ref)) withhold(ref, 'separation-of-duties', detail);
    } else {
      for (const ref of involved) reviewNeeds.push({ ref, sodRule: rule.id, approval: rule.approval! });
    }
  }

  // 6. What remains is desired; new entitlements need their approval chain unless a grant (an
  //    approved request) already covers them.
  // In reference order: the policy's catalogue is kept sorted, so no sort per identity.
  for (const ent of policy.entitlements.values()) {
    const ref = ent.ref;
    const a = acc.get(ref);
    if (!a) continue;
    const isNew = !current.has(ref);
    result.entitlements.push({
      entitlement: ref,
      app: ent.app,
      id: ent.id,
      sensitivity: ent.decl.sensitivity,
      rules: list(a.rules),
      roles: list(a.roles),
      grants: list(a.grants),
      isNew,
    });
    if (isNew && a.grants.length === 0 && ent.approval) {
      result.approvals.push(approvalNeed(policy, { ruleId: ent.approval, entitlement: ref, identity, reason: 'entitlement' }));
    }
  }
  for (const need of reviewNeeds) {
    if (!acc.has(need.ref)) continue;
    result.approvals.push(approvalNeed(policy, { ruleId: need.approval, entitlement: need.ref, identity, reason: 'separation-of-duties', sodRule: need.sodRule }));
  }

  result.applications = sorted(new Set(result.entitlements.map((e) => e.app)));
  result.roles = sorted([...roleRules.keys()]).map((id) => ({
    id,
    rules: list(roleRules.get(id)!),
    assignedBy: list(assignedBy.get(id) ?? []),
    inheritedBy: list(inheritedBy.get(id) ?? []),
  }));
  result.withheld.sort((x, y) => (x.entitlement < y.entitlement ? -1 : x.entitlement > y.entitlement ? 1 : 0));
  result.approvals.sort((x, y) => (x.entitlement < y.entitlement ? -1 : x.entitlement > y.entitlement ? 1 : x.rule < y.rule ? -1 : 1));
  return result;
}

/** The roles reachable from `assigned` without passing through any of `excluded`. */
function rolesWithout(policy: CompiledPolicy, assigned: readonly string[], excluded: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const stack = assigned.filter((r) => !excluded.has(r));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const parent of policy.roles.get(id)?.decl.inherits ?? []) if (!excluded.has(parent)) stack.push(parent);
  }
  return out;
}
