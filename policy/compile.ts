// A validated policy, compiled for evaluation: indexes by id, role closures, each birthright rule's
// condition (already type-checked) and the roles it brings. Built once per policy version; it lives
// in memory only (its results, not the compiled policy, travel through workflows).
import type { ApplicationDecl, ApprovalRule, EntitlementDecl, PolicyModel, RoleDecl, SodRuleDecl } from '../schemas/policy.js';
import { compileAttributeMaps, type CompiledAttributeMap } from './attribute-map.js';
import type { CompiledCondition } from './cel.js';
import { roleClosures } from './closure.js';
import { attributeReader, type AttributeReader } from './identity.js';

export type CompiledEntitlement = {
  /** `<app>:<id>` */
  ref: string;
  app: string;
  id: string;
  decl: EntitlementDecl;
  /** The approval rule a new holder needs: the entitlement's own, else its application's. */
  approval?: string;
  /** The application's allowed regions (absent: every region). */
  allowedRegions?: readonly string[];
};

export type CompiledRole = {
  id: string;
  decl: RoleDecl;
  /** The role and every role it inherits, transitively, each once. */
  closure: string[];
};

export type CompiledRule = {
  id: string;
  roles: string[];
  /** The rule's roles and everything they inherit. */
  closure: string[];
  condition: CompiledCondition;
};

export type CompiledPolicy = {
  version: string;
  model: PolicyModel;
  applications: ReadonlyMap<string, ApplicationDecl>;
  /** Sorted by reference. */
  entitlements: ReadonlyMap<string, CompiledEntitlement>;
  roles: ReadonlyMap<string, CompiledRole>;
  rules: readonly CompiledRule[];
  approvals: ReadonlyMap<string, ApprovalRule>;
  sod: readonly SodRuleDecl[];
  readAttributes: AttributeReader;
  /** Each application's attribute map (its declared one, else the default). */
  attributeMaps: ReadonlyMap<string, CompiledAttributeMap>;
};

export const entitlementRef = (app: string, id: string): string => `${app}:${id}`;

export function splitRef(ref: string): { app: string; id: string } {
  const i = ref.indexOf(':');
  return { app: ref.slice(0, i), id: ref.slice(i + 1) };
}

/** Compiles a model the loader found no problem in; `conditions[i]` is birthright rule i's. */
export function compilePolicy(model: PolicyModel, version: string, conditions: readonly CompiledCondition[]): CompiledPolicy {
  const applications = new Map(model.applications.map((a) => [a.id, a]));
  const entitlements = new Map<string, CompiledEntitlement>();
  for (const app of model.applications) {
    for (const e of app.entitlements) {
      const ref = entitlementRef(app.id, e.id);
      const approval = e.approval ?? app.approval;
      entitlements.set(ref, { ref, app: app.id, id: e.id, decl: e, ...(approval ? { approval } : {}), ...(app.allowedRegions ? { allowedRegions: app.allowedRegions } : {}) });
    }
  }
  // Sorted by reference, so evaluation lists entitlements in order without sorting.
  const sortedEntitlements = new Map([...entitlements.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const closures = roleClosures(model.roles);
  const roles = new Map(model.roles.map((r) => [r.id, { id: r.id, decl: r, closure: closures[r.id] ?? [r.id] }]));
  const rules = model.birthright.map((rule, i) => {
    const closure = new Set<string>();
    for (const r of rule.roles) for (const c of roles.get(r)?.closure ?? []) closure.add(c);
    return { id: rule.id, roles: [...rule.roles], closure: [...closure].sort(), condition: conditions[i]! };
  });
  return {
    version,
    model,
    applications,
    entitlements: sortedEntitlements,
    roles,
    rules,
    approvals: new Map(model.approvals.map((a) => [a.id, a])),
    sod: model.separationOfDuties,
    readAttributes: attributeReader(model.attributes),
    attributeMaps: compileAttributeMaps(model).maps,
  };
}
