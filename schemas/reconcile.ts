// Reconciliation settings (issue 19): how often each application is listed and compared with the
// policy, what each kind of drift leads to, and how far a listing may shrink before its silence
// stops being trusted. A top-level `reconcile` section is the default; an application's own
// `reconcile` overrides it key by key (remediation kind by kind). policy/reconcile-settings.ts merges them.
import { z } from 'zod';
import { DURATION_HINT, durationMs, isDuration } from './durations.js';

export const driftKinds = ['missing-account', 'orphan-account', 'uncorrelated-account', 'missing-entitlement', 'extra-entitlement', 'wrong-state', 'attribute-drift'] as const;
export type DriftKind = (typeof driftKinds)[number];

/**
 * report: recorded and listed only (the default). fix: the person's identity workflow is asked to
 * re-evaluate them (ordering, saga, approvals, fence and audit as for an HR event). disable-orphans:
 * orphan accounts are disabled (never deleted) by the reconciliation, through the fence.
 */
export const remediationModes = ['report', 'fix', 'disable-orphans'] as const;
export type RemediationMode = (typeof remediationModes)[number];

/** At least a minute, at most a week: a schedule's interval. */
const intervalSchema = z
  .string()
  .refine(isDuration, { message: DURATION_HINT })
  .refine((d) => !isDuration(d) || (durationMs(d) >= 60_000 && durationMs(d) <= 7 * 86_400_000), { message: 'reconcile.every is between PT1M and P7D' });

const remediationSchema = z
  .partialRecord(z.enum(driftKinds), z.enum(remediationModes))
  .superRefine((r, ctx) => {
    for (const [kind, mode] of Object.entries(r)) {
      if (mode === 'disable-orphans' && kind !== 'orphan-account') ctx.addIssue({ code: 'custom', path: [kind], message: 'disable-orphans applies to orphan-account only' });
      if (mode === 'fix' && kind === 'orphan-account') ctx.addIssue({ code: 'custom', path: [kind], message: 'an orphan has no person to re-evaluate: use report or disable-orphans' });
    }
  });

export const reconcileSchema = z.strictObject({
  /** How often the application's schedule runs (ISO 8601, PT1M to P7D). Default hourly. */
  every: intervalSchema.optional(),
  /** Per drift kind: report (default), fix, or disable-orphans (orphan-account only). */
  remediation: remediationSchema.optional(),
  /** The largest share (0-1) a listing may shrink by against the last complete one before its removals stop. Default 0.1. */
  maxShrink: z.number().min(0, 'maxShrink is a share between 0 and 1').max(1, 'maxShrink is a share between 0 and 1').optional(),
  /** Accounts asked per page of the listing. Default 200. */
  pageSize: z.number().int().min(1).max(1000).optional(),
  /** false: no schedule for the application (on demand only). Default true. */
  scheduled: z.boolean().optional(),
});
export type ReconcileDecl = z.infer<typeof reconcileSchema>;

/** The settings in force for one application. */
export type ReconcileSettings = {
  every: string;
  remediation: Record<DriftKind, RemediationMode>;
  maxShrink: number;
  pageSize: number;
  scheduled: boolean;
};

export const RECONCILE_DEFAULTS: ReconcileSettings = {
  every: 'PT1H',
  remediation: Object.fromEntries(driftKinds.map((k) => [k, 'report'])) as Record<DriftKind, RemediationMode>,
  maxShrink: 0.1,
  pageSize: 200,
  scheduled: true,
};

/** The top-level default, then the application's own keys (remediation kind by kind). */
export function reconcileSettings(defaults: ReconcileDecl | undefined, own: ReconcileDecl | undefined): ReconcileSettings {
  const pick = <K extends keyof ReconcileDecl>(k: K) => own?.[k] ?? defaults?.[k];
  return {
    every: pick('every') ?? RECONCILE_DEFAULTS.every,
    remediation: { ...RECONCILE_DEFAULTS.remediation, ...defaults?.remediation, ...own?.remediation },
    maxShrink: pick('maxShrink') ?? RECONCILE_DEFAULTS.maxShrink,
    pageSize: pick('pageSize') ?? RECONCILE_DEFAULTS.pageSize,
    scheduled: pick('scheduled') ?? RECONCILE_DEFAULTS.scheduled,
  };
}
