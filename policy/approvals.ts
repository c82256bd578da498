// Who must approve what: an approval rule resolved for one person and one entitlement, first to
// approvers (the manager, a group), then to the people who may act as each (an approval gate's
// chain, workflows/approval-chain.ts). That the approver is never the requester or the
// beneficiary is enforced where decisions are taken (the approval gate and the updates'
// validators), as a hard invariant, not here.
import type { ApprovalRule, ApproverSpec } from '../schemas/policy.js';
import type { ApproverSlot, ChainSpec } from './approval-chain.js';
import type { CompiledPolicy } from './compile.js';
import { durationMs } from '../schemas/durations.js';
import type { Identity } from './identity.js';

/** The approver `security` stands for the members of the approver group of this id. */
export const SECURITY_GROUP = 'security';

export type ResolvedApprover =
  | { approver: 'manager'; employeeId?: string }
  | { approver: 'app-owner'; group: string }
  | { approver: 'security' }
  | { approver: 'group'; group: string };

export type ApprovalNeed = {
  /** The entitlement that needs it (`app:id`). */
  entitlement: string;
  /** Why: the entitlement's approval chain, or a separation-of-duties rule of severity review. */
  reason: 'entitlement' | 'separation-of-duties';
  sodRule?: string;
  /** The approval rule. */
  rule: string;
  mode: ApprovalRule['mode'];
  /** How many approvals it takes: every approver (sequential), one (any-of), `required` (n-of-m). */
  required: number;
  approvers: ResolvedApprover[];
  timeout: string;
  escalation?: { after: string; to: ResolvedApprover };
  onTimeout: ApprovalRule['onTimeout'];
  /** Approvers that cannot be resolved for this person (e.g. no manager on record). */
  unresolved?: string[];
};

export function resolveApprover(spec: ApproverSpec, identity: Identity, owner: string): ResolvedApprover {
  if (spec === 'manager') return identity.managerId ? { approver: 'manager', employeeId: identity.managerId } : { approver: 'manager' };
  if (spec === 'app-owner') return { approver: 'app-owner', group: owner };
  if (spec === 'security') return { approver: 'security' };
  return { approver: 'group', group: spec.slice('group:'.length) };
}

export function approvalNeed(
  policy: CompiledPolicy,
  input: { ruleId: string; entitlement: string; identity: Identity; reason: ApprovalNeed['reason']; sodRule?: string },
): ApprovalNeed {
  const rule = policy.approvals.get(input.ruleId)!;
  const app = policy.applications.get(policy.entitlements.get(input.entitlement)!.app)!;
  const approvers = rule.approvers.map((a) => resolveApprover(a, input.identity, app.owner));
  const unresolved = approvers.filter((a) => a.approver === 'manager' && a.employeeId === undefined).map(() => 'manager: the identity has no managerId');
  return {
    entitlement: input.entitlement,
    reason: input.reason,
    ...(input.sodRule ? { sodRule: input.sodRule } : {}),
    rule: rule.id,
    mode: rule.mode,
    required: rule.mode === 'sequential' ? rule.approvers.length : rule.mode === 'any-of' ? 1 : rule.required!,
    approvers,
    timeout: rule.timeout,
    ...(rule.escalation ? { escalation: { after: rule.escalation.after, to: resolveApprover(rule.escalation.to, input.identity, app.owner) } } : {}),
    onTimeout: rule.onTimeout,
    ...(unresolved.length > 0 ? { unresolved } : {}),
  };
}

/** The members of an approver group (none when the policy has no such group). */
export function groupMembers(policy: CompiledPolicy, groupId: string): string[] {
  return [...(policy.model.approverGroups.find((g) => g.id === groupId)?.members ?? [])];
}

/**
 * The people who may act as a resolved approver: the manager (none when the identity has no
 * manager on record), the members of the application's owner group, of `security`, or of the
 * named group. Labels: `manager`, `app-owner:<group>`, `security`, `group:<id>`.
 */
export function approverSlot(policy: CompiledPolicy, approver: ResolvedApprover): ApproverSlot {
  switch (approver.approver) {
    case 'manager':
      return { label: 'manager', eligible: approver.employeeId ? [approver.employeeId] : [] };
    case 'app-owner':
      return { label: `app-owner:${approver.group}`, eligible: groupMembers(policy, approver.group) };
    case 'security':
      return { label: 'security', eligible: groupMembers(policy, SECURITY_GROUP) };
    case 'group':
      return { label: `group:${approver.group}`, eligible: groupMembers(policy, approver.group) };
  }
}

/**
 * An approval need as an approval gate's chain: slots of eligible people, durations in
 * milliseconds (durationMs: a month counts 30 days, a year 365), the reminder defaulting to half
 * the timeout, and `required` the distinct approvals of n-of-m (1 per approval otherwise).
 */
export function chainOf(policy: CompiledPolicy, need: ApprovalNeed): ChainSpec {
  const rule = policy.approvals.get(need.rule);
  if (!rule) throw new RangeError(`unknown approval rule "${need.rule}" in policy ${policy.version}`);
  const timeoutMs = durationMs(rule.timeout);
  return {
    entitlement: need.entitlement,
    rule: need.rule,
    reason: need.reason,
    ...(need.sodRule ? { sodRule: need.sodRule } : {}),
    mode: need.mode,
    required: need.mode === 'n-of-m' ? need.required : 1,
    slots: need.approvers.map((a) => approverSlot(policy, a)),
    timeoutMs,
    ...(need.escalation ? { escalation: { afterMs: durationMs(need.escalation.after), slot: approverSlot(policy, need.escalation.to) } } : {}),
    onTimeout: need.onTimeout,
    reminderMs: rule.reminder === undefined ? Math.floor(timeoutMs / 2) : durationMs(rule.reminder),
  };
}
