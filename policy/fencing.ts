// Fencing thresholds (docs/architecture.md#fence): how many destructive steps of a kind may happen in the
// sliding window, per source feed and per application, before the rest wait for a human.
// The fence itself (counting, holding, releasing) lives with the workflows; this reads the policy.
import type { FencedAction, Fencing, Threshold } from '../schemas/policy.js';
import { durationMs } from '../schemas/durations.js';

export type FenceScope = { scope: 'source'; source: string } | { scope: 'application'; app: string };

/**
 * The budget a source's destructive steps count against: its own entry when the policy names it
 * (`hr`, `policy/1a2b3c4d`), else its family's (`policy`, `reconcile` for `reconcile/crm`), else the
 * one shared `default` budget, so an unknown or per-version source never gets a fresh budget of its own.
 */
export function fenceBudget(fencing: Fencing, source: string): string {
  if (fencing.perSource[source]) return source;
  const family = source.split('/')[0]!;
  return fencing.perSource[family] ? family : 'default';
}

/** The threshold for `action` in `scope`: the named entry's, else the scope's `default`. */
export function thresholdFor(fencing: Fencing, where: FenceScope, action: FencedAction): Threshold | undefined {
  const table = where.scope === 'source' ? fencing.perSource : fencing.perApplication;
  const key = where.scope === 'source' ? where.source : where.app;
  return table[key]?.[action] ?? table.default?.[action];
}

/**
 * How many `action` steps may run in one window before the next waits: max(absolute,
 * ceil(share × population)); Infinity when the policy sets no threshold for it.
 */
export function fenceLimit(fencing: Fencing, where: FenceScope, action: FencedAction, population: number): number {
  const t = thresholdFor(fencing, where, action);
  if (!t) return Number.POSITIVE_INFINITY;
  return Math.max(t.absolute ?? 0, t.share === undefined ? 0 : Math.ceil(t.share * population));
}

export function fenceWindowMs(fencing: Fencing): number {
  return durationMs(fencing.window);
}
