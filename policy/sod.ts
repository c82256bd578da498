// Separation of duties: a rule names a set of entitlements and roles of which no one may hold two
// or more. "Hold" means after inheritance: a role held through another role counts, and so does an
// entitlement a held role brings, whether it came from a birthright rule, a mover or a request.
import type { SodRuleDecl } from '../schemas/policy.js';

export type SodMember = { kind: 'entitlement' | 'role'; id: string };

/** What a person holds: anything with `has` (a Set, or the keys of a Map). */
export type HeldAccess = { roles: { has(id: string): boolean }; entitlements: { has(ref: string): boolean } };

export type SodMatch = { rule: SodRuleDecl; members: SodMember[] };

/** The rules the held access violates, each with the members held (two or more). */
export function sodConflicts(rules: readonly SodRuleDecl[], held: HeldAccess): SodMatch[] {
  const out: SodMatch[] = [];
  for (const rule of rules) {
    let members: SodMember[] | undefined;
    for (const e of rule.entitlements) if (held.entitlements.has(e)) (members ??= []).push({ kind: 'entitlement', id: e });
    for (const r of rule.roles) if (held.roles.has(r)) (members ??= []).push({ kind: 'role', id: r });
    if (members && members.length >= 2) out.push({ rule, members });
  }
  return out;
}

export const describeMember = (m: SodMember): string => (m.kind === 'role' ? `role ${m.id}` : m.id);
