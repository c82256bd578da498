// The connectors the worker provisions through: one per application of the policy, each built by
// the one factory (connectors/config.ts createConnector) from a validated connector config, so
// secrets are references (a file or an environment variable) read on use and re-read on rotation.
// SCIM applications come from the connectors file (config/connectors.yaml); the LDAP directory from
// the main config's `ldap` section, which the local stack's slapd shares.
import type { Connector } from '../connectors/contract.js';
import { createConnector, isInsecureAppUrl, ldapConnectorConfigSchema, type ConnectorConfig } from '../connectors/config.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { ldapOus, projectRoot, type Config } from '../schemas/config.js';

/** The variable the directory's bind password is read from, on each bind. */
export const LDAP_BIND_PASSWORD_VARIABLE = 'LDAP_BIND_PASSWORD';

/** The directory of the main config as a connector config (its OUs: people, groups, disabled). */
export function ldapConnectorConfig(cfg: Config, app: string): ConnectorConfig {
  const ous = ldapOus(cfg);
  return ldapConnectorConfigSchema.parse({
    type: 'ldap',
    app,
    url: cfg.ldap.url,
    ...(cfg.ldap.tls.caFile || cfg.ldap.tls.startTls ? { tls: { ...(cfg.ldap.tls.caFile ? { caFile: cfg.ldap.tls.caFile } : {}), startTls: cfg.ldap.tls.startTls } } : {}),
    bindDn: cfg.ldap.bindDn,
    // A file is re-read when it changes (rotation without a restart); else the variable, read on use.
    bindPassword: cfg.ldap.bindPasswordFile ? { file: cfg.ldap.bindPasswordFile } : { env: LDAP_BIND_PASSWORD_VARIABLE },
    baseDn: cfg.ldap.baseDn,
    peopleDn: ous.people,
    groupsDn: ous.groups,
    disable: cfg.ldapConnector.disable === 'move' ? { mode: 'move', disabledDn: ous.disabled } : { mode: 'attribute', attribute: 'employeeType', value: 'disabled' },
    manageOus: cfg.ldap.manageOus,
    timeoutMs: 5_000,
  });
}

export type ConnectorsForPolicyOptions = {
  /** Secrets named by `{ env }` references; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Relative secret files are relative to this folder; default the project root. */
  root?: string;
};

/** Once per connector built (at worker start): an app marked insecureHttp whose URLs do leave the machine in clear. Never its secrets. */
function warnInsecureHttp(logger: Logger, app: string, config: Extract<ConnectorConfig, { type: 'scim' }>): void {
  const urls = [config.baseUrl, ...(config.auth.kind === 'oauth2' ? [config.auth.tokenUrl] : [])].filter(isInsecureAppUrl);
  if (urls.length === 0) return;
  logger.warn({ app, urls }, `scim ${app}: insecureHttp: its ${config.auth.kind === 'oauth2' ? 'client secret and tokens' : 'bearer token'} and every person's data travel unencrypted to ${urls.join(' and ')}; use https:// as soon as the app offers it`);
}

/** A connector for each application of the policy whose configuration is present; the rest are reported. */
export function connectorsForPolicy(
  cfg: Config,
  policy: CompiledPolicy,
  configs: readonly ConnectorConfig[],
  logger: Logger,
  options: ConnectorsForPolicyOptions = {},
): { connectors: Map<string, Connector>; missing: string[] } {
  const env = options.env ?? process.env;
  const factory = { root: options.root ?? projectRoot, logger };
  const connectors = new Map<string, Connector>();
  const missing: string[] = [];
  for (const [id, decl] of policy.applications) {
    if (decl.connector === 'ldap') {
      // The local slapd's password (config ldap.bindPassword) stands in when the variable is unset.
      const ldapEnv = { ...(cfg.ldap.bindPassword ? { [LDAP_BIND_PASSWORD_VARIABLE]: cfg.ldap.bindPassword } : {}), ...env };
      connectors.set(id, createConnector(ldapConnectorConfig(cfg, id), { ...factory, env: ldapEnv }));
      continue;
    }
    const config = configs.find((c) => c.type === decl.connector && c.app === decl.config);
    if (config?.type === 'scim' && config.insecureHttp) warnInsecureHttp(logger, id, config);
    if (config) connectors.set(id, createConnector({ ...config, app: id }, { ...factory, env }));
    else missing.push(`${id} (no ${decl.connector} connector ${decl.config} in ${cfg.connectors.file})`);
  }
  return { connectors, missing };
}
