// What a SCIM test app says a user is a member of, from its write log: it works for apps whose
// groups hide their members (targets/profiles.ts `no-memberships`) as well as for the others.
import type { TestScimApp } from './scim-app.js';

/** The ids of the groups the user is in, sorted, as the app's writes left them. */
export async function membershipsFromWrites(app: TestScimApp, userId: string): Promise<string[]> {
  const held = new Set<string>();
  for (const w of await app.admin.writes({ limit: 10_000 })) {
    if (w.resourceType !== 'Group') continue;
    if (w.membersAdded?.includes(userId)) held.add(w.id);
    if (w.membersRemoved?.includes(userId)) held.delete(w.id);
  }
  return [...held].sort();
}
