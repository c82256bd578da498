// HR data quality at planning: what the planner must not act on because HR's data is wrong or
// incomplete, reported as `held` so the change ends action-required with the reason.
//
// - Two people claiming one e-mail address (or one userName): in every application whose accounts
//   carry the value, neither person's account is created or adopted (the connector would match the
//   other's account); a person who has their account keeps it and is flagged. Applications are
//   those the plan touches or the person has an account in, or the one named by the duplicate.
// - A missing attribute declared `whenMissing: hold` (schemas/policy.ts): no revoke, disable or
//   delete is planned, so a gap in the feed never removes access. Additions go ahead: a rule that
//   needs the missing attribute cannot match, so every addition comes from what HR did send.
// Leavers are never held: a termination does not depend on attributes, and a leaver claims nothing;
// nor is the disable of a leave (lifecycle.onLeave: disable) held for a missing attribute.
// Pure: plan, identity and the store's findings in, plan out.
import { entitlementRef, type CompiledPolicy } from './compile.js';
import type { Grant } from './evaluator.js';
import type { Identity } from './identity.js';
import type { ActualAccount, Plan, PlanStep } from './planner.js';

/** A value of the person's that others claim too (found by the store's blind index). */
export type DuplicateValue = {
  attribute: 'email' | 'userName';
  /** The application whose accounts carry the value; absent: every application (e-mail today). */
  app?: string;
  /** The other people claiming it. */
  employeeIds: readonly string[];
};

export type Held = { app?: string; reason: string };

export type DataQualityInput = {
  identity: Identity;
  actual: readonly ActualAccount[];
  duplicates?: readonly DuplicateValue[];
  /** The person's request grants: the revoke of one whose time is up is never held (its timer has fired). */
  grants?: readonly Grant[];
  now?: string;
};

const DESTRUCTIVE: ReadonlySet<PlanStep['action']> = new Set(['revoke', 'disableAccount', 'deleteAccount']);
const LABEL: Record<DuplicateValue['attribute'], string> = { email: 'e-mail address', userName: 'userName' };

/** Attributes declared `whenMissing: hold` that the identity lacks (absent, null or of the wrong type). */
export function missingHeldAttributes(policy: CompiledPolicy, identity: Identity): string[] {
  const held = policy.model.attributes.filter((a) => a.whenMissing === 'hold');
  if (held.length === 0) return [];
  const { context } = policy.readAttributes(identity);
  return held.filter((a) => !(a.name in context)).map((a) => a.name);
}

/** The plan less what HR data quality holds, with `held` saying why. */
export function holdForDataQuality(policy: CompiledPolicy, plan: Plan, input: DataQualityInput): Plan {
  if (input.identity.status === 'terminated') return plan;
  let steps = plan.steps;
  const held: Held[] = [];

  const apps = [...new Set([...steps.map((s) => s.app), ...input.actual.filter((a) => policy.applications.has(a.app)).map((a) => a.app)])].sort();
  for (const d of input.duplicates ?? []) {
    if (d.employeeIds.length === 0) continue;
    for (const app of d.app !== undefined ? apps.filter((a) => a === d.app) : apps) {
      // Without an account of their own, nothing may be created or adopted, nor granted to an account that is not there.
      // Nor updated: an update could write the claimed value into this person's account (a userName
      // or mail), and the other person's hire would then match it.
      steps = steps.filter((s) => s.app !== app || (s.action !== 'ensureAccount' && s.action !== 'updateAccount' && s.account !== undefined));
      held.push({ app, reason: `${app}: the ${LABEL[d.attribute]} is also claimed by ${d.employeeIds.join(', ')}: no account is created or adopted there for either person until HR corrects one record` });
    }
  }

  // A leave that disables acts on the status, not on attributes: it is not held either.
  const missing = plan.kind === 'on-leave' ? [] : missingHeldAttributes(policy, input.identity);
  if (missing.length > 0) {
    // A request grant whose time is up is revoked all the same: it never depended on HR's data.
    const now = Date.parse(input.now ?? new Date(0).toISOString());
    const ended = new Set((input.grants ?? []).filter((g) => g.expiresAt !== undefined && Date.parse(g.expiresAt) <= now).map((g) => g.entitlement));
    steps = steps.filter((s) => !DESTRUCTIVE.has(s.action) || (s.action === 'revoke' && s.entitlementId !== undefined && ended.has(entitlementRef(s.app, s.entitlementId))));
    held.push({ reason: `attribute ${missing.join(', ')} missing from the HR snapshot (whenMissing: hold): no access was removed; have HR send it` });
  }

  if (held.length === 0) return plan;
  return { ...plan, steps, kind: steps.length === 0 ? 'no-change' : plan.kind, held: [...(plan.held ?? []), ...held] };
}
