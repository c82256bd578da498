// Which tokens the API accepts. Production mode: only people's tokens from the organisation's
// OpenID provider (api.oidc); `api serve` refuses to start without it, and a development token is
// refused (401 development-token) even when a secret is configured. Development mode: the
// provider's tokens when api.oidc is set, and beside them the HS256 development tokens that
// `provisioner api token --dev` mints; without api.oidc, the local stack's development IdP (the one
// `provisioner login` signs in with then). The token's header (alg) says which verifier reads it; the
// provider's verifier accepts asymmetric algorithms only, so a shared-secret token never reaches it.
import { decodeProtectedHeader } from 'jose';
import type { Logger } from '../observability/logger.js';
import { apiOidc, type Config } from '../schemas/config.js';
import { DEV_IDP_AUDIENCE, DEV_IDP_ROLE_MAP, devIdpIssuer } from '../schemas/dev-idp.js';
import { ApiAuthConfigError, loadJwtSettings, UnauthenticatedError, verifyToken, type JwtSettings, type TokenVerifier } from './auth.js';
import { createOidcVerifier, type OidcSettings } from './oidc.js';

export type VerifierParts = {
  mode: Config['mode'];
  /** The identity provider's verifier (api/oidc.ts). */
  oidc?: TokenVerifier | undefined;
  /** The development tokens' settings; ignored in production mode. */
  development?: JwtSettings | undefined;
};

/** One verifier over the parts: by the token's alg, the development tokens (development mode only) or the identity provider's. */
export function chooseVerifier(parts: VerifierParts): TokenVerifier {
  const development = parts.mode === 'development' ? parts.development : undefined;
  return async (token) => {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new UnauthenticatedError('invalid-token', 'the token is not a JWT');
    }
    if (alg === 'HS256') {
      if (development) return verifyToken(development, token);
      throw new UnauthenticatedError(
        'development-token',
        parts.mode === 'production'
          ? 'development tokens are not accepted in production mode; sign in with the identity provider (provisioner login)'
          : 'this API has no development secret; sign in with the identity provider, or mint a token with `provisioner api token --dev`',
      );
    }
    if (!parts.oidc) throw new UnauthenticatedError('invalid-token', 'no identity provider is configured (api.oidc), and this is not a development token');
    return parts.oidc(token);
  };
}

/**
 * Development mode without api.oidc: the local stack's development IdP (`stack up` runs it;
 * stack/dev-idp/), as `provisioner login` signs in with it, its groups mapped to the roles.
 */
export function developmentIdp(cfg: Pick<Config, 'stack'>): OidcSettings {
  return apiOidc.parse({
    issuer: devIdpIssuer(cfg),
    audience: DEV_IDP_AUDIENCE,
    roleMap: DEV_IDP_ROLE_MAP,
  }) as OidcSettings;
}

export type ApiVerifier = { verify: TokenVerifier; close(): Promise<void> };

/**
 * The API process's verifier from its configuration; a ConfigError (one line) when it could accept
 * nobody: production mode without api.oidc, development mode with neither api.oidc nor a development
 * secret. The provider is asked at once in the background, so a wrong issuer is in the log at start.
 */
export function apiVerifier(cfg: Pick<Config, 'mode' | 'dataDir' | 'api' | 'stack'>, logger: Logger): ApiVerifier {
  const configured = cfg.api.oidc;
  if (cfg.mode === 'production' && !configured) {
    throw new ApiAuthConfigError("api: production mode accepts only the identity provider's tokens and api.oidc is not configured; set PROVISIONER_OIDC_ISSUER and PROVISIONER_OIDC_AUDIENCE (api.oidc)");
  }
  const development = cfg.mode === 'development' ? loadJwtSettings(cfg) : undefined;
  const settings = configured ?? developmentIdp(cfg);
  if (!settings.audience) {
    throw new ApiAuthConfigError("api: api.oidc.audience is not set, and the API accepts only tokens for its own audience; set PROVISIONER_OIDC_AUDIENCE (api.oidc.audience) to the API's identifier at the identity provider");
  }
  const oidc = createOidcVerifier({ ...settings, audience: settings.audience });
  if (Object.keys(settings.roleMap).length === 0) logger.warn({ issuer: settings.issuer }, 'api: api.oidc.roleMap maps no group to a role, so every token from the identity provider is refused (403 no-role)');
  oidc.warm().then(
    () => logger.info({ issuer: settings.issuer, audience: settings.audience }, 'api: identity provider keys loaded'),
    (err: Error) =>
      configured
        ? logger.error({ issuer: settings.issuer, err: { message: err.message } }, 'api: the identity provider could not be asked yet; requests answer 503 idp-unavailable until it can')
        : logger.warn({ issuer: settings.issuer }, `api: the local development IdP is not answering (\`stack up\` runs it); its tokens answer 503 until it does, development tokens (\`api token --dev\`) work meanwhile`),
  );
  return { verify: chooseVerifier({ mode: cfg.mode, oidc: oidc.verify, development }), close: () => oidc.close() };
}
