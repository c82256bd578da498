// Hostile values for the kit's injection tests (./kit.ts): each is ensured next to a victim and must
// touch exactly its own entry. Filter metacharacters (LDAP and SCIM), DN specials, NUL, and Unicode
// and case look-alikes of the victim's own values.
import type { EnsureAccountRequest } from '../contract.js';
import { person } from './harness.js';

export const VICTIM = person('E-VICTIM-1', 'victim.admin', { givenName: 'Vic', familyName: 'Tim', email: 'victim@example.com' });

/** Hostile values, each next to the victim above; look-alikes are built from the victim's own values. */
export const HOSTILE_CASES: ReadonlyArray<{ label: string; req: EnsureAccountRequest; mayBeRejected?: true }> = [
  { label: 'an LDAP filter injection', req: person('*)(uid=*', '*)(uid=*') },
  { label: 'a lone wildcard', req: person('*', '*') },
  { label: 'an OR-injection into an LDAP filter', req: person('E-VICTIM-1)(|(employeeNumber=*', 'x)(|(uid=*') },
  { label: 'a SCIM filter injection', req: person('x" or externalId pr or externalId eq "y', 'x" or userName pr or userName eq "y') },
  { label: 'quotes and backslashes', req: person('q"\\"\\\\', 'q"uote\\back\\') },
  { label: 'DN specials: commas, plus signs, equals, semicolons, angle brackets', req: person('E,1+cn=admin;<x>', 'doe, john+cn=admin;<x>', { familyName: 'Doe, Jr.+' }) },
  { label: 'a leading hash and leading and trailing spaces', req: person('#E 2 ', '# lead and trail x') },
  { label: 'a NUL byte', req: person('E\u0000NUL', 'nul\u0000byte'), mayBeRejected: true },
  { label: "a Cyrillic look-alike of the victim's values", req: person('\u0415-VICTIM-1', 'victim.\u0430dmin') },
  { label: "a fullwidth look-alike of the victim's values", req: person('\uff25-VICTIM-1', '\uff56ictim.admin') },
  { label: "a case variant of the victim's employee id", req: person('e-victim-1', 'case.variant.of.victim') },
];
