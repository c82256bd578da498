// What a reconciliation does about each finding, by the application's remediation per kind
// (schemas/reconcile.ts) and the run's safety (policy/reconcile-safety.ts). Pure: findings,
// settings, the safety blocks and the listed accounts' states in; each finding's remediation (as
// stored and shown) and the run's actions out. A dry run decides the same and says `would`.
import type { AccountRef } from '../connectors/contract.js';
import type { ReconcileSettings } from '../schemas/reconcile.js';
import type { StoredFinding } from '../store/reconcile.js';
import { findingKey, type DriftFinding, type DriftKind } from './drift.js';
import type { RemovalBlock } from './reconcile-safety.js';

/** An orphan the run will disable once the fence allows. */
/** An orphan to disable; `ref` (a digest of its account id, set by the comparison) names it where clear text may not (an LDAP DN names a person). */
export type OrphanToDisable = { key: string; account: AccountRef; ref?: string };

/** A person whose identity workflow is asked to plan them again, and the findings it answers. */
export type Reevaluation = { employeeId: string; keys: string[]; kinds: DriftKind[] };

/** Kinds whose fix the identity workflow carries out by removing something (revoke, disable). */
const removes = (f: DriftFinding, listedActive: boolean | undefined): boolean => f.kind === 'extra-entitlement' || (f.kind === 'wrong-state' && listedActive === true);

/**
 * What the run does about each finding, by the application's remediation per kind:
 *  - report: nothing (recorded and listed);
 *  - disable-orphans: an enabled orphan is disabled after the fence, unless removals are blocked;
 *  - fix: the person's identity workflow re-evaluates them, which converges everything it finds
 *    for them. So a person is re-evaluated only when every finding of theirs it would act on is
 *    `fix` (an extra entitlement the policy says to report is never revoked behind its back), and,
 *    when the run's removals are blocked, only when none of their findings would remove something.
 *    Extra entitlements the policy does not manage are left alone by the planner: reported.
 */
export function decide(findings: readonly DriftFinding[], settings: ReconcileSettings, blocks: readonly RemovalBlock[], listed: ReadonlyMap<string, { active: boolean; externalId?: string }>, dryRun: boolean) {
  const would = (what: string) => (dryRun ? `would ${what}` : what);
  const blocked = blocks.length > 0 ? `held: removals stopped (${blocks.map((b) => b.rule).join(', ')})` : undefined;
  const stored: StoredFinding[] = [];
  const disable: OrphanToDisable[] = [];
  const byPerson = new Map<string, StoredFinding[]>();
  for (const f of findings) {
    const key = findingKey(f);
    const mode = settings.remediation[f.kind];
    const s: StoredFinding = { ...f, key, remediation: 'report' };
    stored.push(s);
    if (f.kind === 'orphan-account') {
      if (mode !== 'disable-orphans') continue;
      const account = listed.get(f.accountId!);
      if (!account?.active) s.remediation = 'report: already disabled';
      else if (blocked) s.remediation = blocked;
      else {
        s.remediation = would('disable');
        if (!dryRun) disable.push({ key, account: { app: f.app, id: f.accountId!, externalId: account.externalId ?? '' } });
      }
      continue;
    }
    if (f.kind === 'extra-entitlement' && f.unmanaged) {
      s.remediation = 'report: the policy does not manage this entitlement';
      continue;
    }
    if (f.employeeId) byPerson.set(f.employeeId, [...(byPerson.get(f.employeeId) ?? []), s]);
  }
  const reevaluate: Reevaluation[] = [];
  for (const [employeeId, own] of byPerson) {
    const fixes = own.filter((f) => settings.remediation[f.kind] === 'fix');
    if (fixes.length === 0) continue;
    const reported = own.filter((f) => settings.remediation[f.kind] !== 'fix');
    const removing = own.some((f) => removes(f, f.accountId !== undefined ? listed.get(f.accountId)?.active : undefined));
    let outcome: string;
    if (reported.length > 0) outcome = `held: re-evaluating would also act on ${[...new Set(reported.map((f) => f.kind))].join(', ')}, which the policy says to report`;
    else if (removing && blocked) outcome = blocked;
    else outcome = would('fix: re-evaluation asked');
    for (const f of fixes) f.remediation = outcome;
    if (!dryRun && outcome.startsWith('fix')) reevaluate.push({ employeeId, keys: fixes.map((f) => f.key), kinds: [...new Set(fixes.map((f) => f.kind))] });
  }
  return { stored, disable, reevaluate };
}
