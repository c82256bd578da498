// Creates the groups a policy's entitlements name in a demo or test SCIM app (a real SaaS app has
// its groups already). Idempotent: an existing displayName (409 uniqueness) is left as it is.
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export async function seedScimGroups(options: { scimUrl: string; token: string; names: readonly string[] }): Promise<{ created: number }> {
  let created = 0;
  for (const displayName of options.names) {
    const res = await fetch(`${options.scimUrl}/Groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: [GROUP_SCHEMA], displayName }),
    });
    if (res.status === 201) created += 1;
    else if (res.status !== 409) throw new Error(`seeding group ${displayName} at ${options.scimUrl}: ${res.status} ${await res.text()}`);
  }
  return { created };
}
