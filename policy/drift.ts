// Drift: what an application holds (its listing) against what the policy wants for every identity
// in the store, one finding per difference, classified by kind. Pure and linear in the listing and
// the desired state (it runs over 100,000 accounts): every look-up is a Map.
//   missing-account       the person should have an active account and has none;
//   orphan-account        an account no identity correlates with (its externalId names nobody
//                         the store knows, or it has none and no correlation rule matches it);
//   uncorrelated-account  an account without a correlation key that the application's correlation
//                         rule (matchBy userName or email) would adopt for a person who has none;
//   missing-entitlement   desired and not held;
//   extra-entitlement     held and neither granted by policy nor by an approved request
//                         (`unmanaged` when the policy's catalogue does not know it: the planner
//                         leaves those alone, policy/planner.ts);
//   wrong-state           enabled where it should be disabled, or the other way round;
//   attribute-drift       a mapped attribute (policy/attribute-map.ts) whose value differs.
// Personal values (userNames, e-mails, attribute values) never enter a finding: `detail` says
// what differs, not what the values are. Ids, externalIds, states and entitlement ids are fine.
import type { ApplicationDecl } from '../schemas/policy.js';
import { driftKinds, type DriftKind } from '../schemas/reconcile.js';
import { normalizeValue } from './attribute-map.js';
import { employeeKey } from './employee-ids.js';

export { driftKinds, type DriftKind };

/** What the policy wants one person to have in the application. */
export type DesiredAccount = {
  employeeId: string;
  app: string;
  /**
   * True: the person should have an enabled account. False: any account they have should be
   * disabled (a leaver, nothing left in the application), and none is missing if absent.
   */
  active: boolean;
  /** Entitlement ids (the application's, as listed), desired by policy or by an approved, unexpired grant. */
  entitlements: string[];
  /** The mapped attributes the account should hold; only these names are compared. */
  attributes?: Record<string, string>;
  /** Correlation values for adoption (compared normalised, never copied into a finding). */
  userName?: string;
  email?: string;
};

/** One account as the application listed it. */
export type ListedAccount = {
  /** The application's handle (SCIM id, LDAP DN). */
  id: string;
  /** The correlation key (SCIM externalId, LDAP employeeNumber): the employee id. */
  externalId?: string;
  userName?: string;
  email?: string;
  active: boolean;
  entitlements?: string[];
  /** Set when the application could not say what the account holds: no entitlement drift is judged. */
  entitlementsUnknown?: string;
  attributes?: Record<string, string>;
};

export type DriftFinding = {
  app: string;
  kind: DriftKind;
  accountId?: string;
  employeeId?: string;
  entitlementId?: string;
  attribute?: string;
  /** For extra-entitlement: the policy's catalogue does not know the entitlement. */
  unmanaged?: true;
  detail: string;
};

export type ClassifyDriftInput = {
  app: string;
  desired: readonly DesiredAccount[];
  listed: readonly ListedAccount[];
  correlation?: ApplicationDecl['correlation'];
  /** The entitlement ids of the application the policy's catalogue knows; absent: every one is managed. */
  managedEntitlements?: ReadonlySet<string>;
};

/** The normalised correlation value (trimmed, NFC, case-insensitive: e-mails and user names alike). */
const correlationKey = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const v = value.trim().normalize('NFC').toLowerCase();
  return v === '' ? undefined : v;
};

export function classifyDrift(input: ClassifyDriftInput): DriftFinding[] {
  const { app, correlation, managedEntitlements } = input;
  const findings: DriftFinding[] = [];
  const desiredBy = new Map<string, DesiredAccount>();
  for (const d of input.desired) desiredBy.set(employeeKey(d.employeeId), d);

  // Accounts carrying a correlation key: matched to their person, or orphans.
  const matched = new Set<string>();
  const keyless: ListedAccount[] = [];
  for (const a of input.listed) {
    const external = a.externalId?.trim();
    if (!external) {
      keyless.push(a);
      continue;
    }
    const key = employeeKey(external);
    const d = desiredBy.get(key);
    if (!d) {
      findings.push({ app, kind: 'orphan-account', accountId: a.id, detail: `account ${a.id} carries externalId ${external}, which names no identity in the store` });
      continue;
    }
    if (matched.has(key)) {
      findings.push({ app, kind: 'orphan-account', accountId: a.id, employeeId: d.employeeId, detail: `a second account (${a.id}) carries the correlation key of ${d.employeeId}` });
      continue;
    }
    matched.add(key);
    compareAccount(findings, app, d, a, managedEntitlements);
  }

  // Accounts without a key: adoptable by the correlation rule for a person who has no account, else orphans.
  const adoptable = new Map<string, DesiredAccount | null>();
  if (correlation && correlation.adopt !== 'never' && keyless.length > 0) {
    for (const d of input.desired) {
      if (!d.active || matched.has(employeeKey(d.employeeId))) continue;
      const v = correlationKey(correlation.matchBy === 'email' ? d.email : d.userName);
      // Two people with one value: adopting would be a guess, so neither is adoptable.
      if (v !== undefined) adoptable.set(v, adoptable.has(v) ? null : d);
    }
  }
  const adopted = new Set<string>();
  for (const a of keyless) {
    const v = correlation ? correlationKey(correlation.matchBy === 'email' ? a.email : a.userName) : undefined;
    const d = v !== undefined ? adoptable.get(v) : undefined;
    if (d && correlation && !adopted.has(employeeKey(d.employeeId))) {
      adopted.add(employeeKey(d.employeeId));
      findings.push({ app, kind: 'uncorrelated-account', accountId: a.id, employeeId: d.employeeId, detail: `account ${a.id} has no correlation key; its ${correlation.matchBy} matches ${d.employeeId}, who has no account (adopt: ${correlation.adopt})` });
    } else {
      findings.push({ app, kind: 'orphan-account', accountId: a.id, detail: `account ${a.id} has no correlation key and no correlation rule matches it to an identity` });
    }
  }

  // People who should have an account and have none (an adoptable account counts as theirs).
  for (const d of input.desired) {
    const key = employeeKey(d.employeeId);
    if (!d.active || matched.has(key) || adopted.has(key)) continue;
    findings.push({ app, kind: 'missing-account', employeeId: d.employeeId, detail: `${d.employeeId} should have an account in ${app} and has none` });
  }
  return findings;
}

function compareAccount(findings: DriftFinding[], app: string, d: DesiredAccount, a: ListedAccount, managed: ReadonlySet<string> | undefined): void {
  const base = { app, accountId: a.id, employeeId: d.employeeId };
  if (a.active !== d.active) {
    findings.push({ ...base, kind: 'wrong-state', detail: a.active ? `account of ${d.employeeId} is enabled and should be disabled` : `account of ${d.employeeId} is disabled and should be enabled` });
  }
  // A disabled account's entitlements and attributes are not judged: the planner revokes a leaver's
  // access with the disable, and converges the rest when the account is enabled.
  if (!d.active) return;
  if (a.entitlementsUnknown === undefined && a.entitlements !== undefined) {
    const held = new Set(a.entitlements);
    const wanted = new Set(d.entitlements);
    for (const id of d.entitlements) {
      if (!held.has(id)) findings.push({ ...base, kind: 'missing-entitlement', entitlementId: id, detail: `${d.employeeId} should hold ${id}` });
    }
    for (const id of held) {
      if (wanted.has(id)) continue;
      const unmanaged = managed !== undefined && !managed.has(id);
      findings.push({
        ...base,
        kind: 'extra-entitlement',
        entitlementId: id,
        ...(unmanaged ? { unmanaged: true as const } : {}),
        detail: `${d.employeeId} holds ${id}, granted neither by policy nor by an approved request${unmanaged ? ' (the policy does not manage it)' : ''}`,
      });
    }
  }
  if (d.attributes && a.attributes) {
    for (const [name, want] of Object.entries(d.attributes)) {
      if (normalizeValue(a.attributes[name]) !== normalizeValue(want)) {
        findings.push({ ...base, kind: 'attribute-drift', attribute: name, detail: `attribute ${name} of ${d.employeeId}'s account differs from the policy's value` });
      }
    }
  }
}

/** Counts per kind (every kind present, 0 where none). */
export function countByKind(findings: readonly DriftFinding[]): Record<DriftKind, number> {
  const counts = Object.fromEntries(driftKinds.map((k) => [k, 0])) as Record<DriftKind, number>;
  for (const f of findings) counts[f.kind] += 1;
  return counts;
}

/**
 * A stable identity of a finding across runs: the same difference found again has the same key
 * (so it is audited once), whatever the detail's wording.
 */
export function findingKey(f: DriftFinding): string {
  return [f.app, f.kind, f.employeeId !== undefined ? employeeKey(f.employeeId) : '', f.accountId ?? '', f.entitlementId ?? '', f.attribute ?? ''].join('|');
}
