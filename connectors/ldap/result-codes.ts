// LDAP result codes (RFC 4511 §4.1.9 and Appendix A) → error classes: the LDAP counterpart of
// ../http-status.ts. It classifies only what a verb did not handle itself. The "already" answers
// are mapped per verb in the connector, never here: 68 entryAlreadyExists means "read and
// converge" on an add and "someone else holds that name" on a rename; 20 attributeOrValueExists is
// already-in-state on an add of a member and nothing else; 16 noSuchAttribute is already-in-state on
// a removal of a member. An unwillingToPerform (53) or an insufficientAccessRights (50) is never
// success (baton-ldap's transport turned such answers into success for every call and hid real
// permission errors).
import { ConnectorError, errorOfClass, TransientError, type ErrorClass } from '../errors.js';

export const LdapResult = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  adminLimitExceeded: 11,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRdn: 67,
  entryAlreadyExists: 68,
  other: 80,
} as const;

export type LdapClass = ErrorClass;

const table: ReadonlyArray<{ codes: readonly number[]; class: LdapClass }> = [
  { codes: [3, 11, 51, 52], class: 'transient' }, // time limit, admin limit, busy, unavailable
  { codes: [7, 8, 13, 48, 49, 50], class: 'auth' }, // auth method, stronger auth, confidentiality, inappropriate auth, credentials, access rights
  { codes: [32], class: 'not-found' },
];

export function classifyResultCode(code: number): LdapClass {
  return table.find((row) => row.codes.includes(code))?.class ?? 'invalid';
}

/** The LDAP result code of an ldapts error (ResultCodeError carries it as a number), if any. */
export function resultCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** An error a verb did not handle: result codes by the table; everything else (sockets, timeouts) is transient. */
export function ldapError(app: string, what: string, err: unknown, redact: (s: string) => string = (s) => s): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const code = resultCode(err);
  const detail = redact(((err as Error)?.message ?? String(err)).replace(/\s+/g, ' ').trim().slice(0, 200));
  if (code === undefined) {
    // Socket closed or reset, connect or operation timeout: the write may or may not have happened;
    // the next attempt reads by employeeNumber first.
    return new TransientError(`${app}: ${what} failed: ${detail}`, app);
  }
  const message = `${app}: ${what} answered LDAP result ${code}${detail ? ` (${detail})` : ''}`;
  return errorOfClass(classifyResultCode(code), message, app);
}
