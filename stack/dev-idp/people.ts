// The people the development IdP signs in: a YAML file (examples/dev-idp-people.yaml) of employee
// ids, names, e-mail addresses, development passwords and groups. Never for production: the
// passwords sit in the file in clear.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { employeeIdSchema } from '../../schemas/events.js';

const personSchema = z.strictObject({
  employeeId: employeeIdSchema,
  name: z.string().min(1),
  email: z.email(),
  /** Development only: the password typed on the IdP's login page. */
  password: z.string().min(1),
  /** Group names the access token's `groups` claim carries (e.g. provisioner-approvers). */
  groups: z.array(z.string().min(1)).default([]),
});

export const peopleFileSchema = z.strictObject({ people: z.array(personSchema).min(1) });

export type Person = z.output<typeof personSchema>;

/** The people file, validated; the error names the file and the first problem (never a password). */
export function loadPeople(file: string): Person[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`idp: cannot read the people file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]}; set PROVISIONER_IDP_PEOPLE (stack.idpPeopleFile) to a readable YAML file`);
  }
  const parsed = peopleFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`idp: the people file ${file} is invalid: ${issue.message} at ${issue.path.join('.') || '(top level)'}; see examples/dev-idp-people.yaml`);
  }
  const seen = new Set<string>();
  for (const person of parsed.data.people) {
    const key = person.employeeId.toLowerCase();
    if (seen.has(key)) throw new Error(`idp: the people file ${file} lists ${person.employeeId} twice; keep one entry per employee id`);
    seen.add(key);
  }
  return parsed.data.people;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The person with this employee id (case-insensitive) and password, compared in constant time. */
export function authenticate(people: readonly Person[], employeeId: string, password: string): Person | undefined {
  const person = findPerson(people, employeeId);
  // Compare against something even for an unknown id, so the answer takes as long either way.
  const matches = timingSafeEqual(digest(person?.password ?? '\u0000unknown'), digest(password));
  return person && matches ? person : undefined;
}

export function findPerson(people: readonly Person[], employeeId: string): Person | undefined {
  const key = employeeId.trim().toLowerCase();
  return people.find((p) => p.employeeId.toLowerCase() === key);
}
