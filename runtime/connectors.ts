// The connectors the worker provisions through: one per application of the policy, configured from
// the apps file (SCIM) and the LDAP settings; credentials come from config and the environment only.
import type { Connector } from '../connectors/contract.js';
import { LdapConnector } from '../connectors/ldap/ldap-connector.js';
import { ScimConnector } from '../connectors/scim/scim-connector.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ResolvedApp } from '../schemas/apps.js';
import { ldapOus, type Config } from '../schemas/config.js';

export function scimConnectorFor(app: ResolvedApp, name: string, logger?: Logger): ScimConnector {
  const token = app.bearerTokens[0];
  const auth = token
    ? { kind: 'bearer' as const, token: () => token }
    : app.oauth
      ? { kind: 'oauth2' as const, tokenUrl: app.oauth.tokenUrl, clientId: app.oauth.clientId, clientSecret: () => app.oauth!.clientSecret }
      : undefined;
  if (!auth) throw new Error(`app ${app.name} has neither a bearer token nor OAuth client credentials`);
  return new ScimConnector({ app: name, baseUrl: app.scimUrl, auth, timeoutMs: 5_000, ...(logger ? { logger } : {}) });
}

export function ldapConnectorFor(cfg: Config, name: string, logger?: Logger): LdapConnector {
  const ous = ldapOus(cfg);
  const password = cfg.ldap.bindPassword;
  return new LdapConnector({
    app: name,
    url: cfg.ldap.url,
    bindDn: cfg.ldap.bindDn,
    bindPassword: () => password,
    baseDn: cfg.ldap.baseDn,
    peopleDn: ous.people,
    groupsDn: ous.groups,
    disable: cfg.ldapConnector.disable === 'move' ? { mode: 'move', disabledDn: ous.disabled } : { mode: 'attribute', attribute: 'employeeType', value: 'disabled' },
    timeoutMs: 5_000,
    ...(logger ? { logger } : {}),
  });
}

/** A connector for each application of the policy whose configuration is present; the rest are reported. */
export function connectorsForPolicy(
  cfg: Config,
  policy: CompiledPolicy,
  apps: ResolvedApp[],
  logger: Logger,
): { connectors: Map<string, Connector>; missing: string[] } {
  const connectors = new Map<string, Connector>();
  const missing: string[] = [];
  for (const [id, decl] of policy.applications) {
    if (decl.connector === 'ldap') {
      connectors.set(id, ldapConnectorFor(cfg, id, logger));
      continue;
    }
    const app = apps.find((a) => a.name === decl.config);
    if (app) connectors.set(id, scimConnectorFor(app, id, logger));
    else missing.push(`${id} (no app ${decl.config} in ${cfg.apps.file})`);
  }
  return { connectors, missing };
}
