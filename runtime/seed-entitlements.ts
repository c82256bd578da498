// Demo and test set-up: the groups of the policy's entitlements, in the SCIM apps and the directory.
import { LdapConnector } from '../connectors/ldap/ldap-connector.js';
import type { Connector } from '../connectors/contract.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ResolvedApp } from '../schemas/apps.js';
import { seedScimGroups } from '../targets/seed-groups.js';

export async function seedEntitlements(policy: CompiledPolicy, apps: ResolvedApp[], connectors: ReadonlyMap<string, Connector>): Promise<number> {
  let created = 0;
  const call = { idempotencyKey: 'seed', correlationId: 'seed', signal: AbortSignal.timeout(60_000) };
  for (const [id, decl] of policy.applications) {
    const names = [...policy.entitlements.values()].filter((e) => e.app === id).map((e) => e.id);
    const connector = connectors.get(id);
    if (connector instanceof LdapConnector) {
      for (const name of names) if ((await connector.ensureGroup({ id: name }, call)).status === 'created') created += 1;
      continue;
    }
    const app = apps.find((a) => a.name === decl.config);
    if (app && app.bearerTokens[0]) created += (await seedScimGroups({ scimUrl: app.scimUrl, token: app.bearerTokens[0], names })).created;
  }
  return created;
}
