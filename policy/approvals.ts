// Who must approve what: an approval rule resolved for one person and one entitlement. That the
// approver is never the requester or the beneficiary is enforced where decisions are taken
// (the approval updates' validators), as a hard invariant, not here.
import type { ApprovalRule, ApproverSpec } from '../schemas/policy.js';
import type { CompiledPolicy } from './compile.js';
import type { Identity } from './identity.js';

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
