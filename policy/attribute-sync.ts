// Attribute sync: the `updateAccount` steps that bring an existing account's mapped attributes
// (policy/attribute-map.ts) to the person's current values. One step per application with exactly
// the differing attributes, compared after the one normalisation (trim, NFC); a changed identifier
// (SCIM userName, LDAP uid) is a rename: part of that step where the application allows renames,
// else a step of its own that a human must act on (`actionRequired`: nothing is called). Updates
// are not destructive: never fenced. Their undo is the update back (policy/undo-step.ts).
// Pure: the policy, the identity and what the applications reported in; steps out.
import { IDENTIFIER, mapContext, mappedValues, normalizeValue, type CompiledAttributeMap } from './attribute-map.js';
import type { CompiledPolicy } from './compile.js';
import type { Identity } from './identity.js';
import type { ActualAccount, AttributeChange, PlanStep } from './planner.js';

/** The values the account is created with: for an application that declares `attributes` (else absent, as before maps). */
export function creationAttributes(policy: CompiledPolicy, identity: Identity, app: string): Record<string, AttributeChange> | undefined {
  const map = policy.attributeMaps.get(app);
  if (!map?.declared) return undefined;
  const values = valuesFor(policy, map, identity);
  const out: Record<string, AttributeChange> = {};
  for (const [name, to] of Object.entries(values)) if (to !== null) out[name] = { from: null, to };
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
  if (map.connector === 'ldap' && name === 'uid' && a !== null && b !== null) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** The update steps for the accounts the person keeps (`apps`); accounts that report no attributes are left alone. */
export function attributeUpdates(policy: CompiledPolicy, identity: Identity, accounts: readonly ActualAccount[]): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const a of accounts) {
    const map = policy.attributeMaps.get(a.app);
    if (!map || !a.attributes) continue;
    const changes: Record<string, AttributeChange> = {};
    let rename: Record<string, AttributeChange> | undefined;
    for (const [name, to] of Object.entries(valuesFor(policy, map, identity))) {
      const from = normalizeValue(a.attributes[name]);
      if (same(map, name, from, to)) continue;
      if (name === IDENTIFIER[map.connector] && !map.rename) rename = { [name]: { from, to } };
      else changes[name] = { from, to };
    }
    const names = Object.keys(changes).sort();
    if (names.length > 0) {
      steps.push({ key: `updateAccount/${a.app}`, action: 'updateAccount', app: a.app, account: a.account, attributes: changes, reason: `attributes differ: ${names.join(', ')}` });
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
