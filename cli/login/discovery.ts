// The CLI's view of the organisation's OpenID provider, reached through the API's own client
// (api/oidc-discovery.ts: api.oidc.caFile, the issuer matched exactly, bounded answers, no
// redirects): discovery with the endpoints a device-flow sign-in needs, and the OAuth answers it reads.
import { z } from 'zod';
import { discover, idpHttp, IdpUnavailableError, type IdpHttp, type ProviderMetadata } from '../../api/oidc-discovery.js';

/** The provider refused or answered what the CLI cannot use (the API's IdpUnavailableError: not reached at all). */
export class IdpError extends Error {
  override readonly name = 'IdpError';
}

/** Each request waits this long: a person is waiting, and a provider across the internet may be slow. */
const TIMEOUT_MS = 15_000;

/** What the CLI asks the provider with: the API's client, with api.oidc.caFile when configured. */
export function loginHttp(settings: { caFile?: string | undefined }): IdpHttp {
  return idpHttp({ caFile: settings.caFile, timeoutMs: TIMEOUT_MS });
}

/** The provider's metadata with the token endpoint every sign-in and refresh needs. */
export type Discovery = ProviderMetadata & { token_endpoint: string };

/** Discovery of `issuer` for signing in; one line naming the setting to check when it fails. */
export async function discoverForLogin(issuer: string, http: Pick<IdpHttp, 'get'>): Promise<Discovery> {
  const idp = await discover(issuer, http.get).catch((err: Error) => {
    // The API's lines name the URL and what went wrong; the setting is added where they do not name it.
    const hint = err.message.includes('PROVISIONER_OIDC_') ? '' : '; check api.oidc.issuer (PROVISIONER_OIDC_ISSUER)';
    throw new IdpUnavailableError(`${err.message}${hint}`, { cause: err });
  });
  if (!idp.token_endpoint) throw new IdpError(`oidc: the provider ${issuer} names no token_endpoint in its discovery document, so no one can sign in with it`);
  return { ...idp, token_endpoint: idp.token_endpoint };
}

/** True for a failure to reach the provider at all (not a refusal): a still-valid token is kept then. */
export const unreachable = (err: unknown): boolean => err instanceof IdpUnavailableError;

/** An OAuth error answer (RFC 6749 §5.2). */
export const oauthErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().optional() });

/** A successful token answer (RFC 6749 §5.1); the values are secrets and never printed. */
export const tokenAnswerSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'expected token_type Bearer'),
  expires_in: z.coerce.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});
export type TokenAnswer = z.output<typeof tokenAnswerSchema>;
