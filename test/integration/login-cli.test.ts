// `provisioner login | whoami | logout` (dist/cli/main.js) against the real development IdP: the
// person's browser side is driven over HTTP as tokenFor does it; the tokens land in a 0600 file
// under XDG_CONFIG_HOME, whoami shows the subject, and the deciding commands send the stored
// access token (renewed with the refresh token once it expires) when no other token is given.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { completeDeviceSignIn, devPasswords, startIdp, type TestIdp } from '../helpers/idp.js';
import { ensureDistBuilt } from '../helpers/scim-app.js';

const cliJs = path.join(projectRoot, 'dist', 'cli', 'main.js');

let idp: TestIdp;
let shortIdp: TestIdp;
let api: Server;
let apiUrl: string;
/** The Authorization headers the stand-in API received, in order. */
const bearers: string[] = [];

beforeAll(async () => {
  ensureDistBuilt(cliJs, ['cli', 'schemas', 'stack', 'api'], { recursive: true });
  [idp, shortIdp] = await Promise.all([startIdp(), startIdp({ accessTokenTtlSeconds: 2 })]);
  // A stand-in for the API that records which bearer token the CLI sent (the API's own OIDC checks are tested there).
  api = createServer((req, res) => {
    bearers.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ scope: 'mine', approvals: [] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await Promise.all([idp?.stop(), shortIdp?.stop(), new Promise((r) => (api ? api.close(r) : r(undefined)))]);
});

type Run = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<Run> {
  const child = spawn(process.execPath, [cliJs, ...args], { cwd: projectRoot, env: { ...process.env, PROVISIONER_API_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    onLine?.(line);
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** `provisioner login`, with the person signing in (or aborting) in their browser when it shows the code. */
async function login(issuer: string, xdg: string, employeeId: string, options: { abort?: boolean } = {}): Promise<Run> {
  let browser: Promise<void> | undefined;
  const run = await cli(['login'], { PROVISIONER_OIDC_ISSUER: issuer, XDG_CONFIG_HOME: xdg }, (line) => {
    const shown = /open (\S+) in a browser and enter the code (\S+)$/.exec(line);
    if (shown) browser = completeDeviceSignIn({ verificationUri: shown[1]!, userCode: shown[2]!, employeeId, password: devPasswords[employeeId]!, ...options });
  });
  if (!browser) throw new Error(`login showed no code:\n${run.stdout}${run.stderr}`);
  await browser;
  return run;
}

const stored = (xdg: string, issuer: string) => {
  const file = path.join(xdg, 'provisioner', 'credentials.json');
  return { file, entry: (JSON.parse(readFileSync(file, 'utf8')) as { issuers: Record<string, { accessToken: string; refreshToken?: string; expiresAt: string }> }).issuers[issuer]! };
};

describe('provisioner login', () => {
  it('signs a person in by the device flow, keeps the tokens 0600 under XDG_CONFIG_HOME, and whoami shows the subject', async () => {
    const xdg = mkdtempSync(path.join(tmpdir(), 'login-'));
    const run = await login(idp.issuer, xdg, 'E1001');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`login: signing in to ${idp.issuer} as client provisioner-cli`);
    expect(run.stdout).toContain('login: signed in as E1001 (groups: provisioner-approvers)');
    const { file, entry } = stored(xdg, idp.issuer);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(entry.refreshToken).toBeTruthy();
    // Neither token is ever printed.
    expect(run.stdout + run.stderr).not.toContain(entry.accessToken);
    expect(run.stdout + run.stderr).not.toContain(entry.refreshToken);

    const who = await cli(['whoami'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg });
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(/^issuer {4}http:\/\/127\.0\.0\.1:\d+\nsubject {3}E1001\ngroups {4}provisioner-approvers\naudience {2}provisioner-api\nexpires {3}\S+Z\n$/);
    expect(who.stdout).not.toContain(entry.accessToken);

    // A deciding command without --token-file or PROVISIONER_API_TOKEN sends the stored access token.
    const before = bearers.length;
    const approvals = await cli(['approvals', '--json'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg, PROVISIONER_API_URL: apiUrl });
    expect(approvals.code, approvals.stderr).toBe(0);
    expect(bearers.slice(before)).toEqual([`Bearer ${entry.accessToken}`]);

    // PROVISIONER_API_TOKEN wins over the stored login.
    const envRun = await cli(['approvals', '--json'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg, PROVISIONER_API_URL: apiUrl, PROVISIONER_API_TOKEN: 'e.n.v' });
    expect(envRun.code, envRun.stderr).toBe(0);
    expect(bearers.at(-1)).toBe('Bearer e.n.v');

    const out = await cli(['logout'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg });
    expect(out.stdout).toContain(`logout: signed out of ${idp.issuer}; removed your tokens from ${file}; the refresh token was revoked at the IdP`);
    expect(existsSync(file)).toBe(false);
    const nobody = await cli(['whoami'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg });
    expect(nobody).toMatchObject({ code: 1, stdout: `whoami: not signed in to ${idp.issuer}; run \`provisioner login\`\n` });
    const refused = await cli(['approvals'], { PROVISIONER_OIDC_ISSUER: idp.issuer, XDG_CONFIG_HOME: xdg, PROVISIONER_API_URL: apiUrl });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`you are not signed in to ${idp.issuer}; run \`provisioner login\``);
  });

  it('renews an expired access token with the refresh token before a deciding command calls the API', async () => {
    const xdg = mkdtempSync(path.join(tmpdir(), 'login-short-'));
    expect((await login(shortIdp.issuer, xdg, 'E9001')).code).toBe(0);
    const first = stored(xdg, shortIdp.issuer).entry;
    await new Promise((r) => setTimeout(r, 2500));
    expect(Date.parse(first.expiresAt)).toBeLessThan(Date.now());
    const run = await cli(['approvals', '--json'], { PROVISIONER_OIDC_ISSUER: shortIdp.issuer, XDG_CONFIG_HOME: xdg, PROVISIONER_API_URL: apiUrl });
    expect(run.code, run.stderr).toBe(0);
    const renewed = stored(xdg, shortIdp.issuer);
    expect(renewed.entry.accessToken).not.toBe(first.accessToken);
    expect(Date.parse(renewed.entry.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    expect(bearers.at(-1)).toBe(`Bearer ${renewed.entry.accessToken}`);
    expect(statSync(renewed.file).mode & 0o777).toBe(0o600);
  });

  it('says the sign-in was refused when the person aborts in the browser, and stores nothing', async () => {
    const xdg = mkdtempSync(path.join(tmpdir(), 'login-abort-'));
    const run = await login(idp.issuer, xdg, 'E1002', { abort: true });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^provisioner: login: the sign-in was refused in the browser \(access_denied\).*run `provisioner login` to try again$/);
    expect(existsSync(path.join(xdg, 'provisioner', 'credentials.json'))).toBe(false);
  });
});
