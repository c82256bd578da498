// Why a person has (or would have, or does not have) each entitlement: the birthright rule, the
// chain of roles from the role the rule assigns down to the role that bundles the entitlement, the
// grants; what region or SoD rules withheld; the rules that did not match and why.
import type { CompiledPolicy } from './compile.js';
import type { DesiredAccess, EntitlementHolding } from './evaluator.js';
import type { Identity } from './identity.js';

/** One way an entitlement comes to the person: rule → role → … → role that bundles it. */
export type Chain = { rule: string; roles: string[] };

export type EntitlementExplanation = {
  entitlement: string;
  status: 'desired' | 'withheld' | 'not-desired';
  chains: Chain[];
  grants: string[];
  approvals: string[];
  detail?: string;
  /** For not-desired: the rules that would bring it, and why each did not match this person. */
  wouldBe?: { rule: string; outcome: string }[];
};

/** The shortest chain from a role assigned by `rule` down to `bundling`, over held roles. */
function chainFor(desired: DesiredAccess, rule: string, bundling: string): string[] | undefined {
  const roles = new Map(desired.roles.map((r) => [r.id, r]));
  const prev = new Map<string, string | undefined>([[bundling, undefined]]);
  const queue = [bundling];
  while (queue.length > 0) {
    const id = queue.shift()!;
    const role = roles.get(id);
    if (!role) continue;
    if (role.assignedBy.includes(rule)) {
      const chain = [id];
      for (let p = prev.get(id); p !== undefined; p = prev.get(p)) chain.push(p);
      return chain;
    }
    for (const parent of role.inheritedBy) {
      if (prev.has(parent)) continue;
      prev.set(parent, id);
      queue.push(parent);
    }
  }
  return undefined;
}

function chainsOf(desired: DesiredAccess, holding: Pick<EntitlementHolding, 'rules' | 'roles'>): Chain[] {
  const out: Chain[] = [];
  for (const rule of holding.rules) {
    let best: string[] | undefined;
    for (const role of holding.roles) {
      const c = chainFor(desired, rule, role);
      if (c && (!best || c.length < best.length)) best = c;
    }
    if (best) out.push({ rule, roles: best });
  }
  return out;
}

/** Explains every entitlement of the person, or only those matching `only` (`app:id` or `id`). */
export function explainAccess(policy: CompiledPolicy, desired: DesiredAccess, only?: string): EntitlementExplanation[] {
  const matches = (ref: string): boolean => only === undefined || ref === only || ref.slice(ref.indexOf(':') + 1) === only;
  const out: EntitlementExplanation[] = [];
  for (const e of desired.entitlements) {
    if (!matches(e.entitlement)) continue;
    out.push({
      entitlement: e.entitlement,
      status: 'desired',
      chains: chainsOf(desired, e),
      grants: e.grants,
      approvals: desired.approvals.filter((a) => a.entitlement === e.entitlement).map((a) => a.rule),
    });
  }
  for (const w of desired.withheld) {
    if (!matches(w.entitlement)) continue;
    out.push({ entitlement: w.entitlement, status: 'withheld', chains: chainsOf(desired, w), grants: w.grants, approvals: [], detail: `${w.reason}: ${w.detail}` });
  }
  if (only !== undefined && out.length === 0) {
    const refs = [...policy.entitlements.keys()].filter(matches);
    if (refs.length === 0) return [{ entitlement: only, status: 'not-desired', chains: [], grants: [], approvals: [], detail: 'the policy has no such entitlement' }];
    for (const ref of refs) {
      const bundling = [...policy.roles.values()].filter((r) => r.decl.entitlements.includes(ref)).map((r) => r.id);
      const rules = policy.rules.filter((rule) => rule.closure.some((r) => bundling.includes(r)));
      const outcomes = new Map(desired.skippedRules.map((r) => [r.rule, r]));
      out.push({
        entitlement: ref,
        status: 'not-desired',
        chains: [],
        grants: [],
        approvals: [],
        detail: rules.length === 0 ? `no birthright rule brings it (roles bundling it: ${bundling.join(', ') || 'none'}); it comes by request only` : undefined,
        wouldBe: rules.map((rule) => {
          const o = outcomes.get(rule.id);
          const why = desired.note ?? (o?.missing ? `missing attribute ${o.missing.join(', ')}` : o?.error ? `error: ${o.error}` : `condition false: ${rule.condition.source}`);
          return { rule: rule.id, outcome: why };
        }),
      });
    }
  }
  return out;
}

/** The explanation as text. */
export function formatExplanation(identity: Identity, desired: DesiredAccess, items: EntitlementExplanation[], options: { all: boolean; /** `whenMissing: hold` attributes the identity lacks. */ missingHeld?: readonly string[] }): string {
  const lines: string[] = [];
  const facts = [identity.department, identity.title, identity.region, identity.employmentType, identity.status].filter((x) => x !== undefined).join(', ');
  lines.push(`${identity.employeeId} (${facts}) under policy ${desired.policyVersion}`);
  if (desired.note) lines.push(`  ${desired.note}`);
  for (const name of desired.note ? [] : (options.missingHeld ?? [])) lines.push(`  attribute ${name} is missing (whenMissing: hold): a change is held, no access is removed until HR sends it`);
  if (options.all && !desired.note) {
    lines.push(`  rules matched: ${desired.matchedRules.join(', ') || 'none'}`);
    lines.push(`  roles: ${desired.roles.map((r) => r.id).join(', ') || 'none'}`);
  }
  for (const item of items) {
    const flags = [item.status === 'desired' ? '' : item.status, item.approvals.length > 0 ? `needs approval: ${item.approvals.join(', ')}` : ''].filter(Boolean);
    lines.push(`${item.entitlement}${flags.length > 0 ? `  [${flags.join('; ')}]` : ''}`);
    for (const c of item.chains) lines.push(`  birthright rule ${c.rule} → role ${c.roles.join(' → ')}`);
    for (const g of item.grants) lines.push(`  grant ${g}`);
    if (item.detail) lines.push(`  ${item.detail}`);
    for (const w of item.wouldBe ?? []) lines.push(`  rule ${w.rule} would bring it: did not match (${w.outcome})`);
  }
  if (options.all) {
    for (const c of desired.sod) {
      lines.push(`separation of duties: ${c.rule} (${c.severity}): ${c.members.map((m) => (m.kind === 'role' ? `role ${m.id}` : m.id)).join(' and ')}`);
    }
    for (const r of desired.skippedRules) lines.push(`rule ${r.rule} did not match: ${r.missing ? `missing attribute ${r.missing.join(', ')}` : `error: ${r.error}`}`);
    for (const a of desired.invalidAttributes) lines.push(`attribute ${a.name} is ignored: expected ${a.expected}, got ${a.got}`);
  }
  return `${lines.join('\n')}\n`;
}
