// The organisation's identity provider for the tests: the development IdP (stack/dev-idp/, a real
// oidc-provider) as its own process on a free port with its own keys, and `tokenFor`, which signs a
// person in over HTTP exactly as they would in a browser (device authorization grant, RFC 8628).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { DEV_IDP_CLI_CLIENT_ID, devIdpIssuer } from '../../schemas/dev-idp.js';
import { ensureDistBuilt } from './scim-app.js';
import { browser, completeDeviceSignIn, problemOf, submitLogin } from '../../stack/dev-idp/browser-sign-in.js';

export { completeDeviceSignIn };

export const idpServerJs = path.join(projectRoot, 'dist', 'stack', 'dev-idp', 'server.js');
export const DEV_IDP_PEOPLE = path.join(projectRoot, 'examples', 'dev-idp-people.yaml');
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The development passwords of examples/dev-idp-people.yaml (`dev-<given name>`). */
export const devPasswords: Record<string, string> = {
  E1001: 'dev-ada', E1002: 'dev-grace', E1003: 'dev-alan', E1004: 'dev-katherine', E1005: 'dev-edsger',
  E9001: 'dev-olivia', E9002: 'dev-oscar', E9003: 'dev-audrey', E9004: 'dev-adam',
};

export type TokenOptions = {
  /** The token's audience (default: the IdP's, provisioner-api). */
  audience?: string;
  scope?: string;
};

export type Tokens = { accessToken: string; refreshToken?: string; idToken?: string; expiresIn: number };

export type TestIdp = {
  issuer: string;
  /** Where the IdP keeps its signing keys (a second IdP has other keys). */
  dataDir: string;
  /** Signs a person in over HTTP as a browser would and returns their access token for the audience. */
  tokenFor(employeeId: string, password?: string, options?: TokenOptions): Promise<string>;
  /** The same, with the refresh and ID tokens. */
  tokensFor(employeeId: string, password?: string, options?: TokenOptions): Promise<Tokens>;
  stop(): Promise<void>;
};

export type StartIdpOptions = {
  /** Keys and secrets (default: a new temporary folder, so new keys). */
  dataDir?: string;
  peopleFile?: string;
  /** Access token lifetime (default the IdP's, 600 s); a few seconds for expiry tests. */
  accessTokenTtlSeconds?: number;
  /** The audience when none is asked for (default provisioner-api). */
  audience?: string;
  /** Use the local stack's IdP (`stack up`, http://127.0.0.1:<stack.idpPort>) instead of a process of the test's own. */
  stack?: boolean;
};

type Discovery = { issuer: string; device_authorization_endpoint: string; token_endpoint: string; jwks_uri: string };

export async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`idp discovery at ${issuer} answered ${res.status}`);
  return (await res.json()) as Discovery;
}

/** The whole device flow for one person: the client's requests and the person's browser. */
export async function deviceFlowTokens(issuer: string, employeeId: string, password: string, options: TokenOptions = {}): Promise<Tokens> {
  const idp = await discover(issuer);
  const start = await fetch(idp.device_authorization_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: DEV_IDP_CLI_CLIENT_ID, scope: options.scope ?? 'openid offline_access profile groups', ...(options.audience ? { audience: options.audience } : {}) }),
  });
  const device = (await start.json()) as { device_code: string; user_code: string; verification_uri: string; error?: string; error_description?: string };
  if (!start.ok) throw new Error(`idp: device authorization refused: ${device.error} ${device.error_description ?? ''}`);
  await completeDeviceSignIn({ verificationUri: device.verification_uri, userCode: device.user_code, employeeId, password });
  return tokenRequest(idp.token_endpoint, { grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: DEV_IDP_CLI_CLIENT_ID });
}

/** A token endpoint request (RFC 6749 §4.1.3, RFC 8628 §3.4) and its tokens. */
async function tokenRequest(endpoint: string, form: Record<string, string>): Promise<Tokens> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  const body = (await res.json()) as { access_token?: string; refresh_token?: string; id_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`idp: token request refused: ${body.error} ${body.error_description ?? ''}`);
  return { accessToken: body.access_token, expiresIn: body.expires_in ?? 0, ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}), ...(body.id_token ? { idToken: body.id_token } : {}) };
}

/**
 * The authorization code flow with PKCE (RFC 7636 S256) as a web app such as a self-hosted Temporal
 * UI runs it (client `temporal-ui`, its secret from the IdP's data folder): the person's browser
 * signs in, the app exchanges the code. Returns the tokens.
 */
export async function authorizationCodeTokens(issuer: string, options: { clientId: string; clientSecret: string; redirectUri: string; employeeId: string; password: string; scope?: string }): Promise<Tokens> {
  const idp = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Discovery & { authorization_endpoint: string };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL(idp.authorization_endpoint);
  for (const [k, v] of Object.entries({
    client_id: options.clientId, response_type: 'code', redirect_uri: options.redirectUri, scope: options.scope ?? 'openid profile email groups', state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) authorize.searchParams.set(k, v);
  const browse = browser();
  const loginPage = await browse(authorize.href, { stopAt: options.redirectUri });
  const back = await submitLogin(browse, loginPage, options.employeeId, options.password, options.redirectUri);
  const code = back.url.searchParams.get('code');
  if (!back.url.href.startsWith(options.redirectUri) || !code || back.url.searchParams.get('state') !== state) {
    throw new Error(`idp: the sign-in did not come back to ${options.redirectUri} with a code: ${back.url.searchParams.get('error') ?? problemOf(back.html) ?? back.status}`);
  }
  return tokenRequest(idp.token_endpoint, { grant_type: 'authorization_code', code, redirect_uri: options.redirectUri, code_verifier: verifier, client_id: options.clientId, client_secret: options.clientSecret });
}

function passwordOf(employeeId: string, password?: string): string {
  const known = password ?? devPasswords[employeeId];
  if (known === undefined) throw new Error(`no development password known for ${employeeId}; pass one`);
  return known;
}

function idpClient(issuer: string, dataDir: string, stop: () => Promise<void>): TestIdp {
  const tokensFor = (employeeId: string, password?: string, options?: TokenOptions) => deviceFlowTokens(issuer, employeeId, passwordOf(employeeId, password), options);
  return { issuer, dataDir, stop, tokensFor, tokenFor: async (...args) => (await tokensFor(...args)).accessToken };
}

/** Starts a development IdP of the test's own (or, with `stack`, takes the local stack's). */
export async function startIdp(options: StartIdpOptions = {}): Promise<TestIdp> {
  if (options.stack) {
    const cfg = loadConfig();
    const issuer = devIdpIssuer(cfg);
    await discover(issuer);
    return idpClient(issuer, cfg.dataDir, async () => undefined);
  }
  ensureDistBuilt(idpServerJs, ['stack/dev-idp', 'schemas', 'observability'], { recursive: true });
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'provisioner-idp-'));
  const args = [idpServerJs, '--port', '0', '--data-dir', dataDir, '--people', options.peopleFile ?? DEV_IDP_PEOPLE];
  if (options.accessTokenTtlSeconds !== undefined) args.push('--access-token-ttl', String(options.accessTokenTtlSeconds));
  if (options.audience) args.push('--audience', options.audience);
  const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
  const issuer = await readIssuer(child);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return idpClient(issuer, dataDir, stop);
}

/** The issuer from the IdP's start-up log line; the error carries its output when it does not start. */
function readIssuer(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the development IdP did not start in 20 s:\n${output}`));
    }, 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { issuer?: string; msg?: string };
        if (entry.issuer && entry.msg?.includes('listening')) {
          clearTimeout(timer);
          resolve(entry.issuer);
        }
      } catch {
        /* not a log line */
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the development IdP exited with ${code}:\n${output}`));
    });
  });
}
