// One permit ask decided from the counts, pure (the store's fence calls it inside its transaction,
// the retired fence workflow's model too; unit tests drive it directly). Fenced steps are counted
// in a sliding window per scope (source budget × action, application × action): an ask that would
// take a scope past its limit is held whole, and so is any ask in a scope of a batch still open, so
// a slow drip cannot trickle past a tripped fence.
import type { FencedStep } from '../schemas/fence.js';
import { scopeKey } from '../schemas/fence.js';

/** Steps an ask would add, per scope key: each step counts once for its source budget and once for its application. */
export function stepsPerScope(budget: string, steps: readonly FencedStep[]): Record<string, number> {
  const need: Record<string, number> = {};
  for (const s of steps) for (const key of [scopeKey('source', budget, s.action), scopeKey('app', s.app, s.action)]) need[key] = (need[key] ?? 0) + 1;
  return need;
}

export function describeKey(key: string): string {
  const [scope, name, action] = key.split('|');
  return `${action} ${scope === 'source' ? 'from source' : 'in application'} ${name}`;
}

export const windowWords = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

export type PermitJudgement =
  | { permit: 'allowed' }
  /** `tripped`: the scope keys past their limit (they join the batch's scopes); `reasons`: why, in words. */
  | { permit: 'held'; tripped: string[]; reasons: string[] };

export type PermitCounts = {
  /** Steps let through in the window, per scope key. */
  inWindow: Readonly<Record<string, number>>;
  /** What the ask adds (stepsPerScope). */
  need: Readonly<Record<string, number>>;
  limits: Readonly<Record<string, number>>;
  windowMs: number;
  /** The scope keys of the open batch, if one is open, and its id. */
  open?: { batchId: string; scopes: readonly string[] };
};

/** Allowed, or held: past a limit, or in a scope of the open batch. */
export function judgePermit(c: PermitCounts): PermitJudgement {
  const keys = Object.keys(c.need);
  const after = (key: string) => (c.inWindow[key] ?? 0) + c.need[key]!;
  const tripped = keys.filter((key) => c.limits[key] !== undefined && after(key) > c.limits[key]!);
  const joins = c.open ? keys.filter((key) => c.open!.scopes.includes(key)) : [];
  if (tripped.length === 0 && joins.length === 0) return { permit: 'allowed' };
  const reasons = tripped.length > 0
    ? tripped.map((key) => `${describeKey(key)}: ${after(key)} would exceed ${c.limits[key]} in ${windowWords(c.windowMs)}`)
    : joins.map((key) => `${describeKey(key)}: batch ${c.open!.batchId} is open`);
  return { permit: 'held', tripped, reasons };
}
