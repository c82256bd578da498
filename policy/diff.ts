// What a policy change would do: for each identity, the entitlements (and roles) it would gain
// and lose going from one policy to another. Pure; the CLI prints it as a table or JSON.
import type { CompiledPolicy } from './compile.js';
import { evaluateIdentity, type DesiredAccess, type Grant } from './evaluator.js';
import type { Identity } from './identity.js';

export type IdentityChange = {
  employeeId: string;
  gains: string[];
  loses: string[];
  rolesGained: string[];
  rolesLost: string[];
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
  for (const identity of identities) {
    const grants = options.grantsOf?.(identity.employeeId) ?? [];
    const before = evaluateIdentity(from, { identity, grants, now });
    const after = evaluateIdentity(to, { identity, grants, now });
    const change: IdentityChange = {
      employeeId: identity.employeeId,
      gains: minus(refs(after), refs(before)),
      loses: minus(refs(before), refs(after)),
      rolesGained: minus(roleIds(after), roleIds(before)),
      rolesLost: minus(roleIds(before), roleIds(after)),
    };
    if (change.gains.length + change.loses.length + change.rolesGained.length + change.rolesLost.length === 0) continue;
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
  ]);
  lines.push('', ...table(['employee', 'gains', 'loses', 'roles'], rows));
  lines.push('', ...table(['entitlement', 'gain', 'lose'], diff.byEntitlement.map((e) => [e.entitlement, String(e.gain), String(e.lose)])));
  return `${lines.join('\n')}\n`;
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
