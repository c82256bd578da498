// The `manager` account attribute: the policy maps it to the manager's employee id (`manager:
// managerId`); the application gets the manager's own account there, its handle: the SCIM id
// (RFC 7643 §4.3: enterprise `manager.value` is "the id of the SCIM resource representing the
// User's manager") or the DN of the manager's entry (RFC 4524 §2.10 `manager`, a DN). Finding that
// account is I/O: the planChange activity reads it (activities/manager-accounts.ts) and passes the
// handles in; here the handles replace the employee ids. A manager without an account in the
// application leaves the attribute as the application has it (not cleared), and the step says so.
import type { CompiledAttributeMap } from './attribute-map.js';

export const MANAGER = 'manager';

/** The manager's account handle in each application that maps `manager`, by application id. */
export type ManagerAccounts = Readonly<Record<string, string>>;

/** The employee id a map gives `manager` (null: cleared; undefined: not mapped or not computable). */
export function managerIdOf(values: Readonly<Record<string, string | null>>): string | null | undefined {
  return values[MANAGER];
}

/**
 * The values with the manager's employee id replaced by their account handle in `map.app`; without
 * one, `manager` is left out (left as the application has it) and `note` says why.
 */
export function resolveManager(
  map: CompiledAttributeMap,
  values: Record<string, string | null>,
  managerAccounts: ManagerAccounts | undefined,
): { values: Record<string, string | null>; note?: string } {
  const managerId = managerIdOf(values);
  if (managerId === undefined || managerId === null) return { values };
  const handle = managerAccounts?.[map.app];
  if (handle !== undefined) return { values: { ...values, [MANAGER]: handle } };
  const { [MANAGER]: _unresolved, ...rest } = values;
  return { values: rest, note: `manager left as it is: ${managerId} has no known account in ${map.app}` };
}

/** Handles compare as the application compares them: a DN case-insensitively (RFC 4517 §4.2.15), a SCIM id exactly. */
export function sameManager(map: CompiledAttributeMap, a: string, b: string): boolean {
  return map.connector === 'ldap' ? a.toLowerCase() === b.toLowerCase() : a === b;
}
