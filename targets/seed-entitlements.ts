// Demo and test set-up: the groups of the policy's entitlements, in the SCIM apps and the directory.
import { LdapConnector } from '../connectors/ldap/ldap-connector.js';
import type { Connector } from '../connectors/contract.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ConnectorConfig } from '../connectors/config.js';
import { secretReader } from '../connectors/credentials.js';
import { projectRoot } from '../schemas/config.js';
import { seedScimGroups } from './seed-groups.js';

/** SCIM groups are created with the app's bearer token, read from where its connector config names it. */
export async function seedEntitlements(
  policy: CompiledPolicy,
  configs: readonly ConnectorConfig[],
  connectors: ReadonlyMap<string, Connector>,
  options: { root?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  let created = 0;
  const call = { idempotencyKey: 'seed', correlationId: 'seed', signal: AbortSignal.timeout(60_000) };
  for (const [id, decl] of policy.applications) {
    const names = [...policy.entitlements.values()].filter((e) => e.app === id).map((e) => e.id);
    const connector = connectors.get(id);
    if (connector instanceof LdapConnector) {
      for (const name of names) if ((await connector.ensureEntitlement({ name }, call)).status === 'created') created += 1;
      continue;
    }
    const config = configs.find((c) => c.type === 'scim' && c.app === decl.config);
    if (config?.type === 'scim' && config.auth.kind === 'bearer') {
      const token = secretReader(config.auth.token, { purpose: `the bearer token of app ${config.app}`, root: options.root ?? projectRoot, ...(options.env ? { env: options.env } : {}) })();
      created += (await seedScimGroups({ scimUrl: config.baseUrl, token, names })).created;
    }
  }
  return created;
}
