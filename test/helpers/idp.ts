// The organisation's identity provider for the tests: the development IdP (stack/dev-idp/, a real
// oidc-provider) as its own process on a free port with its own keys, and `tokenFor`, which signs a
// person in over HTTP exactly as they would in a browser (device authorization grant, RFC 8628).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { ensureDistBuilt } from './scim-app.js';

export const idpServerJs = path.join(projectRoot, 'dist', 'stack', 'dev-idp', 'server.js');
export const DEV_IDP_PEOPLE = path.join(projectRoot, 'examples', 'dev-idp-people.yaml');
export const CLI_CLIENT_ID = 'provisioner-cli';
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

/** A cookie jar that honours each cookie's path, enough for one person's browser session. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attr = (n: string) => attributes.find((a) => a.toLowerCase().startsWith(`${n}=`))?.slice(n.length + 1);
      const cookiePath = attr('path') ?? '/';
      const expires = attr('expires');
      const gone = !value || (expires !== undefined && Date.parse(expires) <= Date.now()) || attr('max-age') === '0';
      if (gone) this.cookies.delete(`${name};${cookiePath}`);
      else this.cookies.set(`${name};${cookiePath}`, { name, value, path: cookiePath });
    }
  }

  header(url: URL): string {
    return [...this.cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const hiddenInputs = (html: string, formId?: string): URLSearchParams => {
  const form = formId ? new RegExp(`<form[^>]*id="${formId.replace('.', '\\.')}"[\\s\\S]*?</form>`).exec(html)?.[0] : html;
  if (!form) throw new Error(`the page has no form ${formId}: ${html.slice(0, 300)}`);
  const out = new URLSearchParams();
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) out.set(m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))));
  return out;
};

/**
 * The browser half of the device flow, as a person does it: open the verification page, type the
 * user code, confirm, sign in with employee id and password. Consent is granted by the IdP for its
 * first-party clients. Throws with the page's message when the IdP refuses (wrong password, ...).
 */
export async function completeDeviceSignIn(options: { verificationUri: string; userCode: string; employeeId: string; password: string; abort?: boolean }): Promise<void> {
  const jar = new CookieJar();
  const browse = async (url: string, init: { method?: string; form?: URLSearchParams } = {}): Promise<{ status: number; url: URL; html: string }> => {
    let target = new URL(url);
    let method = init.method ?? 'GET';
    let body = init.form?.toString();
    for (let hops = 0; hops < 10; hops++) {
      const res = await fetch(target, {
        method,
        redirect: 'manual',
        headers: { cookie: jar.header(target), ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
      jar.store(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        target = new URL(location, target);
        method = 'GET';
        body = undefined;
        continue;
      }
      return { status: res.status, url: target, html: await res.text() };
    }
    throw new Error(`more than 10 redirects from ${url}`);
  };
  const problem = (html: string) => /class="problem"[^>]*>([^<]*)</.exec(html)?.[1];

  const input = await browse(options.verificationUri);
  const codeForm = hiddenInputs(input.html, 'op.deviceInputForm');
  codeForm.set('user_code', options.userCode);
  const confirm = await browse(options.verificationUri, { method: 'POST', form: codeForm });
  if (!confirm.html.includes('op.deviceConfirmForm')) throw new Error(`idp: the user code was not taken: ${problem(confirm.html) ?? confirm.status}`);
  const confirmForm = hiddenInputs(confirm.html, 'op.deviceConfirmForm');
  if (options.abort) {
    // The person presses Abort instead: the device code is denied (RFC 8628 §3.5 access_denied).
    confirmForm.set('abort', 'yes');
    const aborted = await browse(options.verificationUri, { method: 'POST', form: confirmForm });
    if (problem(aborted.html) !== 'The sign-in was aborted.') throw new Error(`idp: the abort was not taken: ${problem(aborted.html) ?? aborted.status}`);
    return;
  }
  let page = await browse(options.verificationUri, { method: 'POST', form: confirmForm });
  const action = /<form id="login" method="post" action="([^"]+)"/.exec(page.html)?.[1];
  if (!action) throw new Error(`idp: no login page after the confirmation: ${problem(page.html) ?? page.status}`);
  page = await browse(new URL(action, page.url).href, { method: 'POST', form: new URLSearchParams({ username: options.employeeId, password: options.password }) });
  if (!page.html.includes('id="signed-in"')) throw new Error(`idp: sign-in of ${options.employeeId} failed: ${problem(page.html) ?? page.status}`);
}

/** The whole device flow for one person: the client's requests and the person's browser. */
export async function deviceFlowTokens(issuer: string, employeeId: string, password: string, options: TokenOptions = {}): Promise<Tokens> {
  const idp = await discover(issuer);
  const start = await fetch(idp.device_authorization_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLI_CLIENT_ID, scope: options.scope ?? 'openid offline_access profile groups', ...(options.audience ? { audience: options.audience } : {}) }),
  });
  const device = (await start.json()) as { device_code: string; user_code: string; verification_uri: string; error?: string; error_description?: string };
  if (!start.ok) throw new Error(`idp: device authorization refused: ${device.error} ${device.error_description ?? ''}`);
  await completeDeviceSignIn({ verificationUri: device.verification_uri, userCode: device.user_code, employeeId, password });
  const res = await fetch(idp.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: CLI_CLIENT_ID }),
  });
  const body = (await res.json()) as { access_token?: string; refresh_token?: string; id_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`idp: token request refused: ${body.error} ${body.error_description ?? ''}`);
  return { accessToken: body.access_token, expiresIn: body.expires_in ?? 0, ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}), ...(body.id_token ? { idToken: body.id_token } : {}) };
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
    const issuer = `http://127.0.0.1:${cfg.stack.idpPort}`;
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
