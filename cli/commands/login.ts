// `provisioner login | logout | whoami`: a person signs in with the organisation's identity
// provider the way they expect, the device authorization grant (RFC 8628): the terminal shows a
// URL and a code, they sign in in any browser, and the CLI keeps the tokens in their config folder
// (0600) for the deciding commands. No token, refresh token or password is ever printed.
import type { Command } from 'commander';
import type { IdpHttp } from '../../api/oidc-discovery.js';
import { loadConfig, ConfigError } from '../../schemas/config.js';
import { credentialsFile, readLogin, removeLogin, saveLogin, unverifiedClaims, type StoredLogin } from '../login/credentials.js';
import { discoverForLogin, loginHttp } from '../login/discovery.js';
import { pollForTokens, startDeviceAuthorization } from '../login/device-flow.js';
import { loginRecord, NO_ISSUER, loginSettings, type LoginSettings } from '../login/token-source.js';
import { say } from '../say.js';

/** What the CLI asks for: an ID token's subject and a refresh token for the next days. */
export const LOGIN_SCOPE = 'openid offline_access';

function settingsOrFail(): LoginSettings {
  const settings = loginSettings(loadConfig());
  if (!settings) throw new ConfigError(`login: ${NO_ISSUER}`);
  return settings;
}

const groupsOf = (claims: Record<string, unknown> | undefined): string[] =>
  Array.isArray(claims?.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [];

async function login(): Promise<void> {
  const settings = settingsOrFail();
  const where = settings.developmentIdp ? ' (the local stack\'s development IdP; PROVISIONER_OIDC_ISSUER names another)' : '';
  say(`login: signing in to ${settings.issuer}${where} as client ${settings.clientId}`);
  const http = loginHttp(settings);
  try {
    await signIn(settings, http);
  } finally {
    await http.close();
  }
}

async function signIn(settings: LoginSettings, http: IdpHttp): Promise<void> {
  const idp = await discoverForLogin(settings.issuer, http);
  const device = await startDeviceAuthorization(idp, { clientId: settings.clientId, scope: LOGIN_SCOPE, ...(settings.audience ? { audience: settings.audience } : {}) }, http.postForm);
  say(`login: open ${device.verification_uri} in a browser and enter the code ${device.user_code}`);
  if (device.verification_uri_complete) say(`login: or open ${device.verification_uri_complete}`);
  say(`login: the code is valid for ${Math.max(1, Math.round(device.expires_in / 60))} minutes`);
  const tokens = await pollForTokens(idp, device, { clientId: settings.clientId, say, postForm: http.postForm });
  const record = loginRecord(tokens, idp, settings, Date.now());
  const file = credentialsFile();
  saveLogin(settings.issuer, record, file);
  const claims = unverifiedClaims(record.accessToken);
  const who = typeof claims?.sub === 'string' ? claims.sub : '(no subject in the token)';
  const groups = groupsOf(claims);
  say(`login: signed in as ${who}${groups.length ? ` (groups: ${groups.join(', ')})` : ''}; the access token expires at ${record.expiresAt}${record.refreshToken ? ' and is renewed with the refresh token' : ''}`);
  say(`login: tokens kept in ${file} (mode 0600); \`provisioner whoami\` shows who you are, \`provisioner logout\` signs out`);
}

/** RFC 7009: the refresh token is revoked at the IdP, best effort (the local copy goes either way). */
async function revoke(entry: StoredLogin, settings: LoginSettings): Promise<boolean> {
  if (!entry.revocationEndpoint || !entry.refreshToken) return false;
  const http = loginHttp(settings);
  try {
    const { status } = await http.postForm(entry.revocationEndpoint, { token: entry.refreshToken, token_type_hint: 'refresh_token', client_id: entry.clientId });
    return status === 200;
  } catch {
    return false;
  } finally {
    await http.close();
  }
}

async function logout(): Promise<void> {
  const settings = settingsOrFail();
  const file = credentialsFile();
  const removed = removeLogin(settings.issuer, file);
  if (!removed) return say(`logout: you were not signed in to ${settings.issuer}`);
  const revoked = await revoke(removed, settings);
  say(`logout: signed out of ${settings.issuer}; removed your tokens from ${file}${revoked ? '; the refresh token was revoked at the IdP' : ''}`);
}

export type WhoAmI = { issuer: string; subject?: string; employeeId?: string; groups: string[]; audience?: string | string[]; expiresAt: string; expired: boolean; refreshable: boolean; envTokenWins: boolean };

/** What the stored login says about its holder: its claims decoded, not verified (the API verifies). */
export function whoAmI(issuer: string, entry: StoredLogin, now: number, env: NodeJS.ProcessEnv): WhoAmI {
  const claims = unverifiedClaims(entry.accessToken);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const aud = claims?.aud;
  return {
    issuer,
    ...(str(claims?.sub) ? { subject: str(claims?.sub)! } : {}),
    ...(str(claims?.employee_id) ? { employeeId: str(claims?.employee_id)! } : {}),
    groups: groupsOf(claims),
    ...(typeof aud === 'string' || Array.isArray(aud) ? { audience: aud as string | string[] } : {}),
    expiresAt: entry.expiresAt,
    expired: Date.parse(entry.expiresAt) <= now,
    refreshable: Boolean(entry.refreshToken),
    envTokenWins: Boolean(env.PROVISIONER_API_TOKEN?.trim()),
  };
}

export function formatWhoAmI(w: WhoAmI): string {
  const lines = [
    `issuer    ${w.issuer}`,
    `subject   ${w.subject ?? '(none)'}`,
    ...(w.employeeId && w.employeeId !== w.subject ? [`employee  ${w.employeeId}`] : []),
    `groups    ${w.groups.length ? w.groups.join(', ') : '(none)'}`,
    ...(w.audience ? [`audience  ${Array.isArray(w.audience) ? w.audience.join(', ') : w.audience}`] : []),
    `expires   ${w.expiresAt}${w.expired ? (w.refreshable ? ' (expired; renewed on the next call)' : ' (expired; run `provisioner login`)') : ''}`,
  ];
  if (w.envTokenWins) lines.push('note      PROVISIONER_API_TOKEN is set: the deciding commands send it, not this login');
  return lines.join('\n');
}

function whoami(opts: { json?: boolean }): void {
  const settings = settingsOrFail();
  const entry = readLogin(settings.issuer);
  if (!entry) {
    say(`whoami: not signed in to ${settings.issuer}; run \`provisioner login\``);
    process.exitCode = 1;
    return;
  }
  const w = whoAmI(settings.issuer, entry, Date.now(), process.env);
  say(opts.json ? JSON.stringify(w, null, 2) : formatWhoAmI(w));
}

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description("sign in with your organisation's identity provider (api.oidc.issuer; in development mode the local stack's IdP): shows a URL and a code to enter in a browser, then keeps your tokens in ~/.config/provisioner/credentials.json (0600)")
    .action(() => login());
  program
    .command('logout')
    .description('forget your stored tokens for the configured identity provider (and revoke the refresh token there)')
    .action(() => logout());
  program
    .command('whoami')
    .description('who your stored login says you are: subject, groups and expiry (decoded, not verified; never the token)')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => whoami(opts));
}
