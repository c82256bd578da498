// Fencing thresholds (docs/architecture.md#fence): how many fenced steps of a kind may happen in the
// sliding window, per source budget and per application, before the rest wait for a human.
// The fence itself (counting, holding, releasing) lives in the store (store/fence.ts); this reads
// the policy, and policy/fence-count.ts decides one ask from the counts.
import type { FencedAction, Fencing, Threshold } from '../schemas/policy.js';
import { durationMs } from '../schemas/durations.js';

export type FenceScope = { scope: 'source'; source: string } | { scope: 'application'; app: string };

/**
 * The budget a source counts against: its own entry when the policy names it (`hr.lifecycle`,
 * `reconcile/crm`), else its family's (`reconcile/*` for `reconcile/crm`, `policy/*` for
 * `policy/<version>`), else the one shared `default`. An unknown source never gets a fresh budget:
 * a feed that changes its source string every message shares `default` with every other stranger.
 */
export function sourceBudget(fencing: Pick<Fencing, 'perSource'>, source: string): string {
  if (source !== 'default' && Object.hasOwn(fencing.perSource, source)) return source;
  const slash = source.indexOf('/');
  if (slash > 0) {
    const family = `${source.slice(0, slash)}/*`;
    if (Object.hasOwn(fencing.perSource, family)) return family;
  }
  return 'default';
}

/** The threshold for `action` in `scope`: the named entry's, else the scope's `default`. Sources are named by their budget (sourceBudget). */
export function thresholdFor(fencing: Fencing, where: FenceScope, action: FencedAction): Threshold | undefined {
  const table = where.scope === 'source' ? fencing.perSource : fencing.perApplication;
  const key = where.scope === 'source' ? sourceBudget(fencing, where.source) : where.app;
  return (Object.hasOwn(table, key) ? table[key]?.[action] : undefined) ?? table.default?.[action];
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

/** Whether any threshold names `action`: grants are fenced steps only then (the planner marks them). */
export function fencesAction(fencing: Pick<Fencing, 'perSource' | 'perApplication'>, action: FencedAction): boolean {
  return [...Object.values(fencing.perSource), ...Object.values(fencing.perApplication)].some((t) => t[action] !== undefined);
}

export function fenceWindowMs(fencing: Fencing): number {
  return durationMs(fencing.window);
}
