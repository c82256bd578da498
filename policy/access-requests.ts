// Access requests against the policy (docs/architecture.md#policy): may this person have this entitlement, for how
// long, and whose approval does it take? Pure: the same policy, person, holdings, request and `now`
// give the same JSON-plain assessment; the assessing activity gathers the inputs and the
// access-request workflow runs the approval gate on the chains.
//
// Eligibility (any failure blocks the request, every reason listed):
// - the application and the entitlement exist in the policy;
// - the beneficiary's HR status is active, pre-hire or on-leave (terminated, or no status on
//   record, blocks: a leaver gets no new access, and an unknown standing is not a yes);
// - the application's allowedRegions include the beneficiary's region (data residency);
// - the requested duration is no longer than the entitlement's maxDuration (measured on the
//   calendar from `now`, as the grant's end is), and longer than zero;
// - no blocking separation-of-duties rule names the requested entitlement among the conflicting
//   access the person would hold with it (a rule of severity review adds its approval chain).
import { countApprovals, type ApproverSlot, type ChainSpec } from './approval-chain.js';
import { includesEmployee } from './employee-ids.js';
import { approvalNeed, chainOf, type ApprovalNeed } from './approvals.js';
import { entitlementRef, type CompiledPolicy } from './compile.js';
import { addDuration, DURATION_HINT, parseDuration } from '../schemas/durations.js';
import { evaluateIdentity, type Grant, type SodConflict } from './evaluator.js';
import type { Identity } from './identity.js';

export type AccessRequest = {
  app: string;
  entitlementId: string;
  /** Who asked (may be the beneficiary): never an approver of the request (the gate enforces it). */
  requesterId: string;
  /** ISO 8601 duration; absent: the entitlement's maxDuration, or no end when it has none. */
  duration?: string;
};

export type AssessInput = {
  /** The beneficiary. */
  identity: Identity;
  /** Entitlements (`app:id`) the beneficiary holds now. */
  current: readonly string[];
  /** The beneficiary's approved grants (requests, exceptions). */
  grants: readonly Grant[];
  request: AccessRequest;
  /** ISO timestamp. */
  now: string;
};

export type AccessAssessment =
  | { verdict: 'blocked'; reasons: string[] }
  | {
      verdict: 'approval';
      /** Every chain must approve; none: the request needs no approval. */
      chains: ChainSpec[];
      /** now + (the requested duration ?? the entitlement's maxDuration), when either exists. */
      expiresAt?: string;
      /** The beneficiary holds the entitlement now (the request renews or extends it). */
      alreadyHeld: boolean;
      notes: string[];
    };

/** HR statuses whose holder may be given new access. */
const ELIGIBLE_STATUSES: ReadonlySet<string> = new Set(['active', 'pre-hire', 'on-leave']);

/** The id the requested access carries as a grant while separation of duties is evaluated. */
const REQUESTED = 'requested';

/** Assesses an access request: blocked (with every reason), or the approval chains it needs. */
export function assessAccessRequest(policy: CompiledPolicy, input: AssessInput): AccessAssessment {
  const { identity, request, now } = input;
  const ref = entitlementRef(request.app, request.entitlementId);
  const app = policy.applications.get(request.app);
  if (!app) return { verdict: 'blocked', reasons: [`unknown application "${request.app}" (the policy's applications: ${[...policy.applications.keys()].join(', ')})`] };
  const ent = policy.entitlements.get(ref);
  if (!ent) return { verdict: 'blocked', reasons: [`unknown entitlement "${ref}" (application ${app.id} has ${app.entitlements.map((e) => e.id).join(', ') || 'no entitlements'})`] };

  const reasons: string[] = [];
  const notes: string[] = [];
  const who = identity.employeeId;

  // The beneficiary's standing.
  const status = identity.status;
  if (status === 'terminated') reasons.push(`${who} is terminated: a leaver gets no new access`);
  else if (status === undefined || !ELIGIBLE_STATUSES.has(status)) reasons.push(`${who} has no employment status on record (new access needs active, pre-hire or on-leave)`);
  else if (status === 'on-leave' && policy.model.lifecycle.onLeave === 'disable') notes.push(`${who} is on leave and their accounts stay disabled until they return`);

  // Data residency.
  if (ent.allowedRegions && (identity.region === undefined || !ent.allowedRegions.includes(identity.region))) {
    reasons.push(
      identity.region === undefined
        ? `${app.id} is limited to regions ${ent.allowedRegions.join(', ')} and ${who} has no region`
        : `${app.id} does not allow region ${identity.region} (allowed: ${ent.allowedRegions.join(', ')})`,
    );
  }

  // Duration: mandatory maximum durations are enforced, not trimmed.
  const max = ent.decl.maxDuration;
  let duration: string | undefined = max;
  if (request.duration !== undefined) {
    if (!parseDuration(request.duration)) reasons.push(`requested duration "${request.duration}" is not a duration: ${DURATION_HINT}`);
    else if (Date.parse(addDuration(now, request.duration)) <= Date.parse(now)) reasons.push(`requested duration ${request.duration} is empty: ask for a positive duration`);
    else if (max !== undefined && Date.parse(addDuration(now, request.duration)) > Date.parse(addDuration(now, max))) {
      reasons.push(`requested duration ${request.duration} is longer than the maximum duration of ${ref}, ${max}: ask for ${max} or less`);
    } else duration = request.duration;
  }

  // Separation of duties, with the requested access held: blocking rules refuse it, review rules
  // add their approval. Rules that do not name the requested entitlement are not this request's.
  const sodChains: ChainSpec[] = [];
  if (status !== 'terminated') {
    const desired = evaluateIdentity(policy, { identity, current: input.current, grants: [...input.grants, { id: REQUESTED, entitlement: ref, grantedAt: now }], now });
    for (const conflict of desired.sod) {
      if (!conflict.members.some((m) => m.kind === 'entitlement' && m.id === ref)) continue;
      if (conflict.severity === 'block') reasons.push(`separation-of-duties rule ${conflict.rule} blocks holding ${ref} together with ${others(conflict, ref)}${conflict.description ? ` (${conflict.description})` : ''}`);
      else {
        const sodRule = policy.sod.find((r) => r.id === conflict.rule)!;
        sodChains.push(resolveChain(policy, { rule: sodRule.approval!, entitlement: ref, identity, reason: 'separation-of-duties', sodRule: sodRule.id }));
        notes.push(`separation-of-duties rule ${conflict.rule} asks for a review of holding ${ref} together with ${others(conflict, ref)}: approval ${sodRule.approval} is added`);
      }
    }
  }
  if (reasons.length > 0) return { verdict: 'blocked', reasons };

  const chains: ChainSpec[] = [];
  if (ent.approval) chains.push(resolveChain(policy, { rule: ent.approval, entitlement: ref, identity, reason: 'entitlement' }));
  else notes.push(`no approval rule applies to ${ref} (none on the entitlement or on application ${app.id})${sodChains.length === 0 ? ': it is granted without approval' : ''}`);
  chains.push(...sodChains);

  for (const chain of chains) notes.push(...shortOfApprovers(chain, [request.requesterId, who]));

  const alreadyHeld = input.current.includes(ref);
  const expiresAt = duration === undefined ? undefined : addDuration(now, duration);
  if (alreadyHeld) notes.push(`${who} already holds ${ref}: once approved, the grant ${expiresAt ? `lasts until ${expiresAt}` : 'has no end'}`);
  if (request.duration === undefined && max !== undefined) notes.push(`no duration was asked for: the maximum of ${ref}, ${max}, applies`);
  return { verdict: 'approval', chains, ...(expiresAt ? { expiresAt } : {}), alreadyHeld, notes };
}

/**
 * What the gate will find when it opens the chain: approvals nobody but the excluded people (the
 * requester, the beneficiary) could decide, counted as the gate counts them (countApprovals).
 */
function shortOfApprovers(chain: ChainSpec, excluded: readonly string[]): string[] {
  const then = chain.escalation ? `it goes to ${chain.escalation.slot.label} at once` : 'the request will be rejected';
  const can = (slot: ApproverSlot) => slot.eligible.filter((id) => !includesEmployee(excluded, id));
  if (chain.mode === 'sequential') {
    return chain.slots.filter((slot) => can(slot).length === 0).map((slot) => `${chain.rule}: nobody but the requester or the beneficiary can act as ${slot.label}; ${then}`);
  }
  const possible = countApprovals(chain.slots, [...new Set(chain.slots.flatMap(can))]);
  const required = chain.mode === 'n-of-m' ? chain.required : 1;
  if (possible >= required) return [];
  return [`${chain.rule}: ${required} approval(s) needed, and only ${possible} can come from someone other than the requester or the beneficiary (${chain.slots.map((s) => s.label).join(', ')}); ${then}`];
}

/** The conflict's other members, each with what brings it (`role x`, `crm:y (through role z)`). */
function others(conflict: SodConflict, ref: string): string {
  return conflict.members
    .filter((m) => !(m.kind === 'entitlement' && m.id === ref))
    .map((m) => {
      if (m.kind === 'role') return `role ${m.id}`;
      const by = [...m.roles.map((r) => `role ${r}`), ...m.grants.filter((g) => g !== REQUESTED).map((g) => `grant ${g}`)];
      return by.length > 0 ? `${m.id} (through ${by.join(', ')})` : m.id;
    })
    .join(' and ');
}

export type ChainInput = {
  /** The approval rule's id. */
  rule: string;
  /** `app:id` */
  entitlement: string;
  identity: Identity;
  reason: ApprovalNeed['reason'];
  sodRule?: string;
};

/**
 * One approval rule resolved for one entitlement and one person: each approver a slot of the
 * people who may act as it (manager: the identity's managerId, none when it has none; app-owner:
 * the members of the application's owner group; security: the members of group `security`;
 * group:x: the members of x), timeout, escalation and reminder (default: half the timeout) in
 * milliseconds. Throws RangeError for a rule or an entitlement the policy does not have.
 */
export function resolveChain(policy: CompiledPolicy, input: ChainInput): ChainSpec {
  if (!policy.approvals.has(input.rule)) throw new RangeError(`unknown approval rule "${input.rule}" in policy ${policy.version}`);
  if (!policy.entitlements.has(input.entitlement)) throw new RangeError(`unknown entitlement "${input.entitlement}" in policy ${policy.version}`);
  const need = approvalNeed(policy, { ruleId: input.rule, entitlement: input.entitlement, identity: input.identity, reason: input.reason, ...(input.sodRule ? { sodRule: input.sodRule } : {}) });
  return chainOf(policy, need);
}

/**
 * The chains of a sensitive birthright step: `rules` are the approval rule ids the planner lists on
 * the step (`PlanStep.approvals`), each resolved once. A rule is the entitlement's own (reason
 * entitlement), or else a review rule's that names the entitlement, directly or through a role
 * (reason separation-of-duties, with that rule).
 */
export function approvalChainsFor(policy: CompiledPolicy, input: { identity: Identity; entitlement: string; rules: readonly string[] }): ChainSpec[] {
  const ent = policy.entitlements.get(input.entitlement);
  if (!ent) throw new RangeError(`unknown entitlement "${input.entitlement}" in policy ${policy.version}`);
  return [...new Set(input.rules)].map((rule) => {
    if (rule === ent.approval) return resolveChain(policy, { rule, entitlement: ent.ref, identity: input.identity, reason: 'entitlement' });
    const review = policy.sod.filter((r) => r.severity === 'review' && r.approval === rule);
    const sod = review.find((r) => r.entitlements.includes(ent.ref) || r.roles.some((id) => bundles(policy, id, ent.ref))) ?? review[0];
    if (!sod) return resolveChain(policy, { rule, entitlement: ent.ref, identity: input.identity, reason: 'entitlement' });
    return resolveChain(policy, { rule, entitlement: ent.ref, identity: input.identity, reason: 'separation-of-duties', sodRule: sod.id });
  });
}

/** Does the role, or a role it inherits, bundle the entitlement? */
function bundles(policy: CompiledPolicy, roleId: string, ref: string): boolean {
  return (policy.roles.get(roleId)?.closure ?? []).some((r) => policy.roles.get(r)?.decl.entitlements.includes(ref) ?? false);
}
