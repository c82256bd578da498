// Attribute maps: what an application's account holds of the person. Each application may declare
// `attributes:` (account attribute → a CEL expression of type string over the identity's
// attributes); one that does not keeps the mapping from before attribute maps (DEFAULT_MAPS). The
// names are the connector's own vocabulary: SCIM attribute paths (RFC 7643 §4.1, the enterprise
// extension §4.3 as `department`, `employeeNumber` and `manager`), LDAP attribute types (RFC 4519,
// RFC 2798). `manager` maps to the manager's employee id; the application gets the manager's own
// account there (policy/manager-attribute.ts).
// Expressions read the declared attributes plus the snapshot's `givenName`, `familyName` and `email`.
// Values are person text: trimmed and NFC-normalised (schemas/text.ts) before they are compared or
// sent; an expression that yields "" clears the attribute; one that cannot be evaluated for a person
// (an attribute it reads is missing) leaves the attribute as the application has it.
import type { ApplicationDecl, AttributeDecl, PolicyModel } from '../schemas/policy.js';
import { celEnvironment, compileTyped, type CelContext, type CelDiagnostic, type CompiledCondition } from './cel.js';
import type { Identity } from './identity.js';

export type ConnectorKind = ApplicationDecl['connector'];

/** The account attributes a policy may map, per connector. */
export const ACCOUNT_ATTRIBUTES: Record<ConnectorKind, readonly string[]> = {
  scim: ['userName', 'name.givenName', 'name.familyName', 'displayName', 'emails', 'title', 'department', 'employeeNumber', 'manager'],
  ldap: ['uid', 'cn', 'sn', 'givenName', 'mail', 'displayName', 'title', 'departmentNumber', 'manager'],
};

/** Names a policy may not map, and why (what to do instead). */
const NOT_MAPPABLE: Record<ConnectorKind, Record<string, string>> = {
  scim: {},
  ldap: { employeeNumber: 'employeeNumber is the correlation key (the employee id) and cannot be mapped' },
};

/** The attribute that names the account (a change to it is a rename). */
export const IDENTIFIER: Record<ConnectorKind, string> = { scim: 'userName', ldap: 'uid' };

/** The mapping of an application without `attributes`: what accounts were made of before attribute maps. */
export const DEFAULT_MAPS: Record<ConnectorKind, Readonly<Record<string, string>>> = {
  scim: { userName: 'email', 'name.givenName': 'givenName', 'name.familyName': 'familyName', displayName: 'givenName + " " + familyName', emails: 'email' },
  ldap: { uid: 'email', cn: 'givenName + " " + familyName', sn: 'familyName', givenName: 'givenName', mail: 'email', displayName: 'givenName + " " + familyName' },
};

/** Snapshot fields every expression may read, as strings, besides the declared attributes. */
const PERSON_FIELDS = ['givenName', 'familyName', 'email'] as const;

export type CompiledAttributeMap = {
  app: string;
  connector: ConnectorKind;
  /** Declared in the policy (false: DEFAULT_MAPS). */
  declared: boolean;
  /** May the identifier (userName, uid) change? */
  rename: boolean;
  entries: { name: string; expression: CompiledCondition }[];
};

export type AttributeMapProblem = { app: number; name: string; atKey: boolean; message: string; diagnostic?: CelDiagnostic };

function environment(attributes: readonly AttributeDecl[], dyn: Iterable<string> = []) {
  const declared = new Set(attributes.map((a) => a.name));
  const extra = PERSON_FIELDS.filter((f) => !declared.has(f)).map((name) => ({ name, type: 'string' as const }));
  const all = [...attributes, ...extra];
  return { env: celEnvironment(all, { dyn }), names: new Set(all.map((a) => a.name)) };
}

/** Every application's map compiled, with the problems of the declared ones (application index, attribute name). */
export function compileAttributeMaps(model: PolicyModel, dyn: Iterable<string> = []): { maps: Map<string, CompiledAttributeMap>; problems: AttributeMapProblem[] } {
  const { env, names } = environment(model.attributes, dyn);
  const maps = new Map<string, CompiledAttributeMap>();
  const problems: AttributeMapProblem[] = [];
  model.applications.forEach((app, i) => {
    const source = app.attributes ?? DEFAULT_MAPS[app.connector];
    const entries: CompiledAttributeMap['entries'] = [];
    // The default map is ours: an entry a policy's attribute types break is left out, not reported.
    const report = (problem: AttributeMapProblem): void => {
      if (app.attributes !== undefined) problems.push(problem);
    };
    for (const [name, expression] of Object.entries(source)) {
      const refused = NOT_MAPPABLE[app.connector][name];
      if (refused !== undefined) {
        report({ app: i, name, atKey: true, message: refused });
        continue;
      }
      if (!ACCOUNT_ATTRIBUTES[app.connector].includes(name)) {
        report({ app: i, name, atKey: true, message: `unknown ${app.connector} account attribute "${name}"; one of: ${ACCOUNT_ATTRIBUTES[app.connector].join(', ')}` });
        continue;
      }
      const compiled = compileTyped(env, expression, names, 'string', 'an attribute value');
      if (compiled.ok) entries.push({ name, expression: compiled.condition });
      else report({ app: i, name, atKey: false, message: `CEL ${compiled.diagnostic.kind} error`, diagnostic: compiled.diagnostic });
    }
    maps.set(app.id, { app: app.id, connector: app.connector, declared: app.attributes !== undefined, rename: app.rename === 'allowed', entries });
  });
  return { maps, problems };
}

/** Person text as every application gets it: trimmed, NFC (schemas/text.ts); "" is no value. */
export function normalizeValue(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim().normalize('NFC');
  return text === '' ? null : text;
}

/** What the expressions read of a person: the declared attributes and the snapshot's names and e-mail. */
export function mapContext(base: CelContext, identity: Identity): CelContext {
  const context: CelContext = { ...base };
  for (const field of PERSON_FIELDS) {
    const value = identity[field];
    if (typeof value === 'string') context[field] = value;
  }
  return context;
}

/**
 * The account attributes the map gives the person: a value, or null to clear it. An attribute whose
 * expression cannot be evaluated for this person (it reads a missing attribute) is absent: left as
 * the application has it.
 */
export function mappedValues(map: CompiledAttributeMap, context: CelContext): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const { name, expression } of map.entries) {
    let value: unknown;
    try {
      value = expression.evaluate(context);
    } catch {
      continue;
    }
    if (typeof value === 'string') out[name] = normalizeValue(value);
  }
  return out;
}
