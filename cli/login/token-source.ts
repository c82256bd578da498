// Which bearer token a deciding command sends, in this order: the file named by --token-file (an
// explicit choice for this invocation), then PROVISIONER_API_TOKEN (api.token), then the person's
// stored login (`provisioner login`), refreshed with its refresh token when the access token is
// about to expire. `chooseToken` is that order, pure; `storedLoginToken` does the reading and the
// refresh.
import { ConfigError, type Config } from '../../schemas/config.js';
import { DEV_IDP_CLI_CLIENT_ID, devIdpIssuer } from '../../schemas/dev-idp.js';
import type { IdpPostForm } from '../../api/oidc-discovery.js';
import { IdpError, loginHttp, oauthErrorSchema, tokenAnswerSchema, unreachable, type Discovery, type TokenAnswer } from './discovery.js';
import { credentialsFile, readLogin, saveLogin, unverifiedClaims, type StoredLogin } from './credentials.js';

/** A stored access token this close to its expiry is refreshed first (clocks differ; calls take time). */
export const REFRESH_BEFORE_MS = 60_000;

/** The person must sign in (again): `provisioner login`. */
export class LoginRequiredError extends ConfigError {
  override readonly name = 'LoginRequiredError';
}

export type LoginSettings = {
  issuer: string;
  clientId: string;
  audience?: string;
  /** api.oidc.caFile: the private CA the provider's certificate is checked against. */
  caFile?: string;
  developmentIdp: boolean;
};

/** The IdP to sign in with: api.oidc, else in development mode the local stack's development IdP. */
export function loginSettings(cfg: Pick<Config, 'api' | 'mode' | 'stack'>): LoginSettings | undefined {
  const oidc = cfg.api.oidc;
    // The issuer exactly as configured: discovery matches it exactly (OpenID Connect Discovery 1.0 §4.3), as the API does.
  if (oidc) {
    return { issuer: oidc.issuer, clientId: oidc.cliClientId, ...(oidc.audience ? { audience: oidc.audience } : {}), ...(oidc.caFile ? { caFile: oidc.caFile } : {}), developmentIdp: false };
  }
  if (cfg.mode === 'development') return { issuer: devIdpIssuer(cfg), clientId: DEV_IDP_CLI_CLIENT_ID, developmentIdp: true };
  return undefined;
}

/** How to get a token, for the error that says there is none. */
export const TOKEN_HINT =
  'run `provisioner login`, or set PROVISIONER_API_TOKEN or pass --token-file <path>; in development mode ' +
  '`provisioner api token --dev --sub <yourEmployeeId> --roles approver` (or operator, auditor, admin) also mints one';

export const NO_ISSUER = 'no identity provider is configured; set api.oidc.issuer (PROVISIONER_OIDC_ISSUER) to your organisation\'s OpenID issuer';

export type TokenChoice =
  | { kind: 'file'; file: string }
  | { kind: 'env' }
  | { kind: 'stored'; login: StoredLogin; refresh: boolean }
  | { kind: 'none'; why: 'not-signed-in' | 'expired' };

/** The token order: --token-file, PROVISIONER_API_TOKEN, then the stored login (refreshed when near expiry). */
export function chooseToken(options: { tokenFile?: string | undefined; envToken?: string | undefined; stored?: StoredLogin | undefined; now: number }): TokenChoice {
  if (options.tokenFile) return { kind: 'file', file: options.tokenFile };
  if (options.envToken !== undefined && options.envToken.trim() !== '') return { kind: 'env' };
  const stored = options.stored;
  if (!stored) return { kind: 'none', why: 'not-signed-in' };
  if (Date.parse(stored.expiresAt) - options.now > REFRESH_BEFORE_MS) return { kind: 'stored', login: stored, refresh: false };
  if (stored.refreshToken) return { kind: 'stored', login: stored, refresh: true };
  return { kind: 'none', why: 'expired' };
}

/** The login record for a token answer: when the access token expires comes from expires_in, else its exp. */
export function loginRecord(tokens: TokenAnswer, idp: Pick<Discovery, 'token_endpoint' | 'revocation_endpoint'>, settings: Pick<LoginSettings, 'clientId' | 'audience'>, now: number, previous?: StoredLogin): StoredLogin {
  const exp = unverifiedClaims(tokens.access_token)?.exp;
  const expiresAt = tokens.expires_in !== undefined ? now + tokens.expires_in * 1000 : typeof exp === 'number' ? exp * 1000 : now + 300_000;
  const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
  return {
    clientId: settings.clientId,
    ...(settings.audience ? { audience: settings.audience } : {}),
    tokenEndpoint: idp.token_endpoint,
    ...(idp.revocation_endpoint ? { revocationEndpoint: idp.revocation_endpoint } : {}),
    accessToken: tokens.access_token,
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: new Date(expiresAt).toISOString(),
    obtainedAt: new Date(now).toISOString(),
  };
}

/** A new access token from the refresh token (RFC 6749 §6); the new record is saved. */
export async function refreshLogin(issuer: string, login: StoredLogin, options: { postForm: IdpPostForm; file?: string; now?: () => number }): Promise<StoredLogin> {
  const now = options.now ?? Date.now;
  if (!login.refreshToken) throw new LoginRequiredError(`your sign-in to ${issuer} has expired and holds no refresh token; run \`provisioner login\``);
  const { status, json } = await options.postForm(login.tokenEndpoint, { grant_type: 'refresh_token', refresh_token: login.refreshToken, client_id: login.clientId });
  if (status !== 200) {
    const error = oauthErrorSchema.safeParse(json);
    const why = error.success ? error.data.error : `status ${status}`;
    throw new LoginRequiredError(`your sign-in to ${issuer} could not be renewed (${why}); run \`provisioner login\``);
  }
  const tokens = tokenAnswerSchema.safeParse(json);
  if (!tokens.success) throw new IdpError(`the IdP's refresh answer is not usable: ${tokens.error.issues[0]?.message}`);
  const next = loginRecord(tokens.data, { token_endpoint: login.tokenEndpoint, ...(login.revocationEndpoint ? { revocation_endpoint: login.revocationEndpoint } : {}) }, login, now(), login);
  saveLogin(issuer, next, options.file);
  return next;
}

/** The stored login's access token for the configured IdP, refreshed first when near expiry. */
export async function storedLoginToken(cfg: Pick<Config, 'api' | 'mode' | 'stack'>, options: { file?: string; now?: () => number } = {}): Promise<string> {
  const settings = loginSettings(cfg);
  if (!settings) throw new LoginRequiredError(`this command calls the API as you and needs your token: ${TOKEN_HINT} (${NO_ISSUER})`);
  const file = options.file ?? credentialsFile();
  const now = options.now ?? Date.now;
  const choice = chooseToken({ stored: readLogin(settings.issuer, file), now: now() });
  if (choice.kind === 'none') {
    const why = choice.why === 'expired' ? `your sign-in to ${settings.issuer} has expired` : `you are not signed in to ${settings.issuer}`;
    throw new LoginRequiredError(`this command calls the API as you: ${why}; ${TOKEN_HINT}`);
  }
  if (choice.kind !== 'stored') throw new Error(`unexpected token choice ${choice.kind}`);
  if (!choice.refresh) return choice.login.accessToken;
  const http = loginHttp(settings);
  try {
    return (await refreshLogin(settings.issuer, choice.login, { postForm: http.postForm, file, now })).accessToken;
  } catch (err) {
    // An IdP that cannot be reached, or answers nonsense, does not end a sign-in whose access token is still valid.
    if ((err instanceof IdpError || unreachable(err)) && Date.parse(choice.login.expiresAt) > now()) return choice.login.accessToken;
    throw err;
  } finally {
    await http.close();
  }
}
