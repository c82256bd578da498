// The local stack's development OpenID provider (stack/dev-idp), as the rest of the code must know
// it, in one place: its issuer (production mode refuses it, runtime/production-checks.ts), the CLI
// client and API audience it issues tokens for, and how the API maps its groups to roles in
// development mode (api/verifier.ts). Here, below every layer, because production code may not
// import stack/.
import type { Config } from './config.js';

/** The development IdP's issuer on `port`: plain http on loopback (never for production). */
export const devIdpIssuerAt = (port: number): string => `http://127.0.0.1:${port}`;

/** The local stack's development IdP's issuer, at stack.idpPort. */
export const devIdpIssuer = (cfg: Pick<Config, 'stack'>): string => devIdpIssuerAt(cfg.stack.idpPort);

/** The client `provisioner login` signs in as (the device authorization grant). */
export const DEV_IDP_CLI_CLIENT_ID = 'provisioner-cli';

/** The audience of its access tokens unless asked for another: the API's. */
export const DEV_IDP_AUDIENCE = 'provisioner-api';

/** Its access tokens' lifetime unless stack.idpAccessTokenTtlSeconds (or --access-token-ttl) says otherwise. */
export const DEV_IDP_ACCESS_TOKEN_TTL_SECONDS = 600;

/** Its people's groups (examples/dev-idp-people.yaml) and the API role each grants. */
export const DEV_IDP_ROLE_MAP = {
  'provisioner-approvers': 'approver',
  'provisioner-operators': 'operator',
  'provisioner-auditors': 'auditor',
  'provisioner-admins': 'admin',
} as const;
