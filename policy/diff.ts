// What a policy change would do: for each identity, the entitlements (and roles) it would gain
// and lose going from one policy to another, the accounts it would gain and lose (an application
// the person should now have, or no longer have, an account in: lifecycle.onLeave and prehire
// windows move accounts without moving entitlements), and the mapped account attributes whose values
// change (policy/attribute-map.ts). Pure; the CLI prints it as a table or JSON, a rollout
// re-evaluates exactly the people it lists.
import { DEFAULT_MAPS } from './attribute-map.js';
import { accountAttributes } from './attribute-sync.js';
import type { CompiledPolicy } from './compile.js';
import { prehireOf } from './dated.js';
import { evaluateIdentity, type DesiredAccess, type Grant } from './evaluator.js';
import type { Identity } from './identity.js';

export type IdentityChange = {
  employeeId: string;
  gains: string[];
  loses: string[];
  rolesGained: string[];
  rolesLost: string[];
  /** Applications the person should now have an account in (made, or enabled), and no longer (disabled). */
  accountsGained: string[];
  accountsLost: string[];
  /** Mapped attributes of accounts the person keeps whose values change, as `<app>:<attribute>` (names only, never values). */
  attributes: string[];
};

export type PolicyDiff = {
  from: string;
  to: string;
  identities: number;
  /** Only identities whose entitlements or roles change, by employee id. */
  changes: IdentityChange[];
  /** Per entitlement: how many identities gain and lose it. */
  byEntitlement: { entitlement: string; gain: number; lose: number }[];
};

const minus = (a: readonly string[], b: readonly string[]): string[] => {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
};

const refs = (d: DesiredAccess): string[] => d.entitlements.map((e) => e.entitlement);
const roleIds = (d: DesiredAccess): string[] => d.roles.map((r) => r.id);

/**
 * The applications where the plan keeps or makes an account for the person now, as the planner
 * decides it (policy/planner.ts): none for a leaver or for someone on a leave that disables; for a
 * future start, only those whose prehire window has opened.
 */
function accountsOf(policy: CompiledPolicy, identity: Identity, desired: DesiredAccess, now: string): string[] {
  if (identity.status === 'terminated') return [];
  if (identity.status === 'on-leave' && policy.model.lifecycle.onLeave === 'disable') return [];
  const prehire = prehireOf(policy, identity, now);
  return prehire ? desired.applications.filter((app) => !prehire.waits(app)) : desired.applications;
}

/** The applications whose mapped values may differ between the versions: their map's source, or the attribute schema it reads, changed. */
function mapsThatDiffer(from: CompiledPolicy, to: CompiledPolicy): Set<string> {
  const source = (p: CompiledPolicy, app: string): string | undefined => {
    const decl = p.applications.get(app);
    return decl ? JSON.stringify([decl.connector, decl.attributes ?? DEFAULT_MAPS[decl.connector]]) : undefined;
  };
  const schemaChanged = JSON.stringify(from.model.attributes) !== JSON.stringify(to.model.attributes);
  const differ = new Set<string>();
  for (const app of to.applications.keys()) if (from.applications.has(app) && (schemaChanged || source(from, app) !== source(to, app))) differ.add(app);
  return differ;
}

/** The mapped attributes of `apps` whose values differ between the versions, as `<app>:<attribute>`. */
function attributeChanges(from: CompiledPolicy, to: CompiledPolicy, identity: Identity, apps: readonly string[]): string[] {
  if (apps.length === 0) return [];
  const before = accountAttributes(from, identity, apps);
  const after = accountAttributes(to, identity, apps);
  const changed: string[] = [];
  for (const app of apps) {
    const a = before[app] ?? {};
    const b = after[app] ?? {};
    // An attribute absent on one side is left as the application has it there: a change only when the other side sets it.
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) if (name in b && a[name] !== b[name]) changed.push(`${app}:${name}`);
  }
  return changed;
}

/**
 * Who gains and loses what going from `from` to `to`: each identity evaluated under both, with its
 * approved grants when `grantsOf` gives them (a rollout reads them from the store; the CLI's diff has none).
 */
export function diffPolicies(from: CompiledPolicy, to: CompiledPolicy, identities: readonly Identity[], now: string, options: { grantsOf?: (employeeId: string) => readonly Grant[] } = {}): PolicyDiff {
  const changes: IdentityChange[] = [];
  const counts = new Map<string, { gain: number; lose: number }>();
  const count = (ref: string, key: 'gain' | 'lose'): void => {
    const c = counts.get(ref) ?? { gain: 0, lose: 0 };
    c[key]++;
    counts.set(ref, c);
  };
  const mapped = mapsThatDiffer(from, to);
  for (const identity of identities) {
    const grants = options.grantsOf?.(identity.employeeId) ?? [];
    const before = evaluateIdentity(from, { identity, grants, now });
    const after = evaluateIdentity(to, { identity, grants, now });
    const accountsBefore = accountsOf(from, identity, before, now);
    const accountsAfter = accountsOf(to, identity, after, now);
    // Attributes of the accounts the person keeps (a new account is made with the new values anyway).
    const kept = mapped.size === 0 ? [] : accountsAfter.filter((app) => mapped.has(app) && accountsBefore.includes(app));
    const change: IdentityChange = {
      employeeId: identity.employeeId,
      gains: minus(refs(after), refs(before)),
      loses: minus(refs(before), refs(after)),
      rolesGained: minus(roleIds(after), roleIds(before)),
      rolesLost: minus(roleIds(before), roleIds(after)),
      accountsGained: minus(accountsAfter, accountsBefore),
      accountsLost: minus(accountsBefore, accountsAfter),
      attributes: attributeChanges(from, to, identity, kept),
    };
    if (change.gains.length + change.loses.length + change.rolesGained.length + change.rolesLost.length + change.accountsGained.length + change.accountsLost.length + change.attributes.length === 0) continue;
    changes.push(change);
    for (const r of change.gains) count(r, 'gain');
    for (const r of change.loses) count(r, 'lose');
  }
  changes.sort((a, b) => (a.employeeId < b.employeeId ? -1 : a.employeeId > b.employeeId ? 1 : 0));
  return {
    from: from.version,
    to: to.version,
    identities: identities.length,
    changes,
    byEntitlement: [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([entitlement, c]) => ({ entitlement, ...c })),
  };
}

/** The diff as a table: one line per identity that changes, then the totals per entitlement. */
export function formatDiff(diff: PolicyDiff): string {
  const lines: string[] = [];
  const gaining = diff.changes.filter((c) => c.gains.length > 0).length;
  const losing = diff.changes.filter((c) => c.loses.length > 0).length;
  lines.push(`policy diff ${diff.from} → ${diff.to} over ${diff.identities} identities: ${diff.changes.length} change (${gaining} gain, ${losing} lose access)`);
  if (diff.changes.length === 0) return `${lines[0]}\n`;
  const rows = diff.changes.map((c) => [
    c.employeeId,
    c.gains.map((g) => `+${g}`).join(' '),
    c.loses.map((l) => `-${l}`).join(' '),
    [...c.rolesGained.map((r) => `+${r}`), ...c.rolesLost.map((r) => `-${r}`)].join(' '),
    [...c.accountsGained.map((a) => `+${a}`), ...c.accountsLost.map((a) => `-${a}`)].join(' '),
    c.attributes.join(' '),
  ]);
  lines.push('', ...table(['employee', 'gains', 'loses', 'roles', 'accounts', 'attributes'], rows));
  lines.push('', ...table(['entitlement', 'gain', 'lose'], diff.byEntitlement.map((e) => [e.entitlement, String(e.gain), String(e.lose)])));
  return `${lines.join('\n')}\n`;
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
