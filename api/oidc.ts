// People's bearer tokens from the organisation's OpenID provider (api.oidc): the provider's keys
// from its discovery document (or api.oidc.jwksUri), cached by jose and fetched again for a key id
// it does not know (at most once per cooldown, so a flood of forged key ids cannot make the API
// hammer the provider); the signature with an asymmetric algorithm only; issuer, audience, expiry
// and the token's age (iat, and auth_time when present); then the caller: the employee id from
// api.oidc.employeeIdClaim (no fallback: a token without it says nobody the API knows) and the roles
// that api.oidc.roleMap gives the groups in api.oidc.rolesClaim. Every refusal has a stable reason
// (auth.ts audits it); the token never appears in a message.
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { apiRoles, oidcAlgorithms, type Config } from '../schemas/config.js';
import { employeeIdSchema } from '../schemas/events.js';
import { NoRoleError, UnauthenticatedError, type ApiRole, type Caller, type TokenVerifier } from './auth.js';
import { discover, idpHttp, IdpUnavailableError, type IdpGet } from './oidc-discovery.js';

/** api.oidc as the API needs it: with the audience (the CLI alone may go without). */
export type OidcSettings = NonNullable<Config['api']['oidc']> & { audience: string };

/** How long a failure to reach the provider is answered from memory (503) before it is asked again. */
const RETRY_AFTER_MS = 5_000;
/** After a key set is fetched, an unknown key id fetches it again only this much later (jose's cooldown). */
const UNKNOWN_KID_COOLDOWN_MS = 30_000;
/** Keys older than this are fetched again before use (a key the provider withdrew stops verifying). */
const KEYS_MAX_AGE_MS = 10 * 60_000;

/** A claim by its name, else by a dotted path (`realm_access.roles`): names may hold dots themselves (Auth0's namespaced claims). */
function claimAt(claims: JWTPayload, name: string): unknown {
  // Own properties only: a claim named `constructor` or `toString` is not the prototype's.
  if (Object.hasOwn(claims, name)) return claims[name];
  let at: unknown = claims;
  for (const part of name.split('.')) at = typeof at === 'object' && at !== null && !Array.isArray(at) && Object.hasOwn(at, part) ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** The caller a verified token names: its employee id and the roles its groups map to (NoRoleError when none does). */
export function callerFromClaims(claims: JWTPayload, settings: Pick<OidcSettings, 'employeeIdClaim' | 'rolesClaim' | 'roleMap'>): Caller {
  const { employeeIdClaim, rolesClaim, roleMap } = settings;
  const raw = claimAt(claims, employeeIdClaim);
  if (raw === undefined || raw === null || raw === '') {
    throw new UnauthenticatedError('no-employee-id', `the token has no ${employeeIdClaim} claim (api.oidc.employeeIdClaim), so it names nobody the API knows`);
  }
  const employeeId = employeeIdSchema.safeParse(typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw);
  if (!employeeId.success) throw new UnauthenticatedError('invalid-claims', `the token's ${employeeIdClaim} claim is not an employee id: ${employeeId.error.issues[0]?.message}`);
  const groupsClaim = claimAt(claims, rolesClaim);
  const groups = typeof groupsClaim === 'string' ? [groupsClaim] : Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === 'string') : [];
  const granted = new Set<ApiRole>(groups.flatMap((g) => (Object.hasOwn(roleMap, g) ? roleMap[g]! : [])));
  const roles = apiRoles.filter((r) => granted.has(r));
  if (roles.length === 0) throw new NoRoleError(employeeId.data, `none of the token's ${rolesClaim} maps to a provisioner role (api.oidc.roleMap)`);
  return { employeeId: employeeId.data, roles };
}

/** A jose failure of a verified-looking token, as the reason the API gives. */
function refusalOf(err: unknown, settings: OidcSettings): UnauthenticatedError {
  if (err instanceof joseErrors.JWTExpired) {
    return err.claim === 'iat'
      ? new UnauthenticatedError('token-too-old', `the token was issued more than ${settings.maxTokenAgeSeconds} s ago (api.oidc.maxTokenAgeSeconds); sign in again`)
      : new UnauthenticatedError('expired-token', 'the token has expired');
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new UnauthenticatedError('wrong-audience', `the token is not for this API (audience ${settings.audience})`);
    if (err.claim === 'iss') return new UnauthenticatedError('wrong-issuer', `the token was not issued by ${settings.issuer}`);
    return new UnauthenticatedError('invalid-token', `the token's ${err.claim} claim is not accepted (${err.reason})`);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new UnauthenticatedError('invalid-token', 'the token is signed with an algorithm the API does not accept (api.oidc.algorithms)');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new UnauthenticatedError('invalid-token', "the token is signed with a key the identity provider does not publish");
  return new UnauthenticatedError('invalid-token', 'the token is not valid (signature, algorithm or format)');
}

/** Failures of the key resolver that are the token's (its key id or algorithm), not the provider's. */
const tokensFault = (err: unknown) =>
  err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported || err instanceof joseErrors.JOSEAlgNotAllowed;

/** The provider's key set at `jwksUri`, its failures (not the token's) as IdpUnavailableError, answered from memory for a few seconds. */
function providerKeys(jwksUri: string, get: IdpGet): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: UNKNOWN_KID_COOLDOWN_MS,
    cacheMaxAge: KEYS_MAX_AGE_MS,
    // The provider's own bounded, CA-aware client; only a 200 answer comes back to jose.
    [customFetch]: async (url: string) => new Response(await get(url), { status: 200, headers: { 'content-type': 'application/json' } }),
  });
  let failed: { at: number; error: IdpUnavailableError } | undefined;
  return async (header, token) => {
    if (failed && Date.now() - failed.at < RETRY_AFTER_MS) throw failed.error;
    try {
      const key = await remote(header, token);
      failed = undefined;
      return key;
    } catch (err) {
      if (tokensFault(err)) throw err;
      const error = err instanceof IdpUnavailableError ? err : new IdpUnavailableError(`oidc: the key set at ${jwksUri} is not usable: ${(err as Error).message}`, { cause: err });
      failed = { at: Date.now(), error };
      throw error;
    }
  };
}

export type OidcVerifier = {
  verify: TokenVerifier;
  /** Reads the discovery document and the keys now (at start-up, so a wrong issuer shows in the log at once); throws IdpUnavailableError. */
  warm(): Promise<void>;
  close(): Promise<void>;
};

export type OidcVerifierOptions = {
  /** The keys to verify with, instead of the provider's (unit tests sign with local keys). */
  keys?: JWTVerifyGetKey;
  /** The provider's HTTP client (default idpHttp with api.oidc.caFile). */
  get?: IdpGet;
};

/** Verifies people's tokens from the configured OpenID provider. */
export function createOidcVerifier(settings: OidcSettings, options: OidcVerifierOptions = {}): OidcVerifier {
  const http = options.get ? undefined : idpHttp({ caFile: settings.caFile });
  const get = options.get ?? http!.get;
  let keys: Promise<JWTVerifyGetKey> | undefined = options.keys ? Promise.resolve(options.keys) : undefined;
  let failed: { at: number; error: IdpUnavailableError } | undefined;

  const keysNow = (): Promise<JWTVerifyGetKey> => {
    if (keys) return keys;
    if (failed && Date.now() - failed.at < RETRY_AFTER_MS) return Promise.reject(failed.error);
    keys = (async () => providerKeys(settings.jwksUri ?? (await discover(settings.issuer, get)).jwks_uri, get))();
    keys.catch((err: unknown) => {
      keys = undefined;
      failed = { at: Date.now(), error: err instanceof IdpUnavailableError ? err : new IdpUnavailableError(`oidc: ${(err as Error).message}`, { cause: err }) };
    });
    return keys.catch(() => Promise.reject(failed!.error));
  };

  const verify: TokenVerifier = async (token) => {
    const getKey = await keysNow();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [...(settings.algorithms ?? oidcAlgorithms)],
        maxTokenAge: settings.maxTokenAgeSeconds,
        clockTolerance: settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      if (err instanceof IdpUnavailableError) throw err;
      throw refusalOf(err, settings);
    }
    // An ID token is for the client that signed the person in, not a key to the API (OIDC Core §2:
    // it may name the API's client id as aud); only ID tokens carry a nonce (RFC 9068 §2.2 access
    // tokens have none), so one that does is refused.
    if (Object.hasOwn(payload, 'nonce')) {
      throw new UnauthenticatedError('id-token', 'this is an ID token (it carries a nonce); send the access token the identity provider issued with it');
    }
    // A token refreshed long after the person signed in carries a fresh iat but the old auth_time (OIDC Core §2).
    if (typeof payload.auth_time === 'number' && Date.now() / 1000 - payload.auth_time > settings.maxTokenAgeSeconds + settings.clockToleranceSeconds) {
      throw new UnauthenticatedError('token-too-old', `the person signed in more than ${settings.maxTokenAgeSeconds} s ago (api.oidc.maxTokenAgeSeconds); sign in again`);
    }
    return callerFromClaims(payload, settings);
  };

  return {
    verify,
    warm: async () => {
      const getKey = await keysNow();
      // Fetches the key set (a header no key matches still loads it).
      await Promise.resolve(getKey({ alg: (settings.algorithms ?? oidcAlgorithms)[0]!, kid: '\u0000warm-up' }, { payload: '', signature: '' })).catch((err: unknown) => {
        if (!tokensFault(err)) throw err;
      });
    },
    close: async () => {
      await http?.close();
    },
  };
}
