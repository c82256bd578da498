// Attribute sync: the `updateAccount` steps that bring an existing account's mapped attributes
// (policy/attribute-map.ts) to the person's current values. One step per application with exactly
// the differing attributes, compared after the one normalisation (trim, NFC); a changed identifier
// (SCIM userName, LDAP uid) is a rename: part of that step where the application allows renames,
// else a step of its own that a human must act on (`actionRequired`: nothing is called). Updates
// are not destructive: never fenced. Their undo is the update back (policy/undo-step.ts). `manager`
// is the manager's account handle in the application (policy/manager-attribute.ts).
// Pure: the policy, the identity and what the applications reported in; steps out.
import { IDENTIFIER, mapContext, mappedValues, normalizeValue, type CompiledAttributeMap } from './attribute-map.js';
import type { CompiledPolicy } from './compile.js';
import type { Identity } from './identity.js';
import { MANAGER, managerIdOf, resolveManager, sameManager, type ManagerAccounts } from './manager-attribute.js';
import type { ActualAccount, AttributeChange, PlanStep } from './planner.js';

/** The values the account is created with: for an application that declares `attributes` (else absent, as before maps). */
export function creationAttributes(policy: CompiledPolicy, identity: Identity, app: string, managerAccounts?: ManagerAccounts): { attributes?: Record<string, AttributeChange>; note?: string } {
  const map = policy.attributeMaps.get(app);
  if (!map?.declared) return {};
  const { values, note } = resolveManager(map, valuesFor(policy, map, identity), managerAccounts);
  const attributes: Record<string, AttributeChange> = {};
  for (const [name, to] of Object.entries(values)) if (to !== null) attributes[name] = { from: null, to };
  return { attributes, ...(note ? { note } : {}) };
}

/** The manager's employee id in each application whose map gives `manager` one: whose account the plan looks up. */
export function managersToFind(policy: CompiledPolicy, identity: Identity): Record<string, string> {
  const out: Record<string, string> = {};
  // A leaver's accounts are never updated: no manager to look up.
  if (identity.status === 'terminated') return out;
  for (const map of policy.attributeMaps.values()) {
    if (!map.entries.some((e) => e.name === MANAGER)) continue;
    const managerId = managerIdOf(valuesFor(policy, map, identity));
    if (typeof managerId === 'string') out[map.app] = managerId;
  }
  return out;
}

/** What each application's account holds of the person by its map (for `policy explain`): attribute → value, null when cleared. */
export function accountAttributes(policy: CompiledPolicy, identity: Identity, apps: readonly string[]): Record<string, Record<string, string | null>> {
  const out: Record<string, Record<string, string | null>> = {};
  for (const app of apps) {
    const map = policy.attributeMaps.get(app);
    if (map) out[app] = valuesFor(policy, map, identity);
  }
  return out;
}

function valuesFor(policy: CompiledPolicy, map: CompiledAttributeMap, identity: Identity): Record<string, string | null> {
  return mappedValues(map, mapContext(policy.readAttributes(identity).context, identity));
}

/** LDAP compares uid case-insensitively (RFC 4519 §2.39: caseIgnoreMatch): a case-only change is no rename. */
function same(map: CompiledAttributeMap, name: string, a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  if (name === MANAGER) return sameManager(map, a, b);
  if (map.connector === 'ldap' && name === 'uid') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** The update steps for the accounts the person keeps (`apps`); accounts that report no attributes are left alone. */
export function attributeUpdates(policy: CompiledPolicy, identity: Identity, accounts: readonly ActualAccount[], managerAccounts?: ManagerAccounts): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const a of accounts) {
    const map = policy.attributeMaps.get(a.app);
    if (!map || !a.attributes) continue;
    const changes: Record<string, AttributeChange> = {};
    let rename: Record<string, AttributeChange> | undefined;
    const { values, note } = resolveManager(map, valuesFor(policy, map, identity), managerAccounts);
    for (const [name, to] of Object.entries(values)) {
      const from = normalizeValue(a.attributes[name]);
      if (same(map, name, from, to)) continue;
      if (name === IDENTIFIER[map.connector] && !map.rename) rename = { [name]: { from, to } };
      else changes[name] = { from, to };
    }
    const names = Object.keys(changes).sort();
    if (names.length > 0) {
      steps.push({ key: `updateAccount/${a.app}`, action: 'updateAccount', app: a.app, account: a.account, attributes: changes, reason: `attributes differ: ${names.join(', ')}${note ? `; ${note}` : ''}` });
    }
    if (rename) {
      const name = IDENTIFIER[map.connector];
      steps.push({
        key: `updateAccount/${a.app}/rename`,
        action: 'updateAccount',
        app: a.app,
        account: a.account,
        attributes: rename,
        reason: `${name} differs: a rename`,
        actionRequired: `${a.app} does not rename accounts (rename: action-required): rename the account's ${name} by hand, or set rename: allowed for ${a.app}`,
      });
    }
  }
  return steps;
}
