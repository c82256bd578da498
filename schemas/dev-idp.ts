// The local stack's development OpenID provider (stack/dev-idp), as the rest of the code must know
// it: its issuer, so production mode can refuse it (runtime/production-checks.ts) and the API and
// `provisioner login` can use it in development mode. Here, below every layer, because production
// code may not import stack/.
import type { Config } from './config.js';

/** The development IdP's issuer: plain http on loopback, at stack.idpPort (never for production). */
export const devIdpIssuer = (cfg: Pick<Config, 'stack'>) => `http://127.0.0.1:${cfg.stack.idpPort}`;
