// `provisioner apps up | down | status` with real processes (node dist/targets/main.js).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { isAlive } from '../../stack/processes.js';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { appsDown, appsStatus, appsUp, appTokenFile, formatAppsStatus, type AppsCommandOptions } from '../../targets/apps-command.js';
import { ensureTargetsBuilt, scimRequest, userBody } from '../helpers/scim-app.js';
import { freePort } from '../../stack/processes.js';
import { createTestPki } from '../helpers/tls.js';

let dir: string;
let ports: { alpha: number; beta: number };
let lines: string[];
let options: AppsCommandOptions;

beforeAll(async () => {
  ensureTargetsBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'apps-command-'));
  ports = { alpha: await freePort(), beta: await freePort() };
  const appsFile = path.join(dir, 'apps.yaml');
  writeFileSync(
    appsFile,
    `apps:
  - name: alpha
    port: ${ports.alpha}
    bearerTokenEnv: ALPHA_TOKEN
    adminToken: alpha-admin-token
    oauth: { clientId: prov, clientSecret: alpha-client-secret }
    stateFile: ${path.join(dir, 'state', 'alpha.json')}
  - name: beta
    port: ${ports.beta}
    bearerToken: beta-bearer-token
    adminToken: beta-admin-token
    faults: { latencyMs: 1 }
`,
  );
  lines = [];
  options = { appsFile, runDir: path.join(dir, 'run'), projectRoot, log: (line) => lines.push(line), env: { ...process.env, ALPHA_TOKEN: 'alpha-bearer-token' } };
}, 180_000);

afterAll(async () => {
  if (options) await appsDown({ ...options, log: () => undefined });
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const alphaUrl = () => `http://127.0.0.1:${ports.alpha}/scim/v2`;
const pidOf = (name: string) => Number(readFileSync(path.join(options.runDir, 'pids', `app-${name}.pid`), 'utf8'));

describe('apps up', () => {
  it('starts each app as its own healthy process and says where it listens', async () => {
    const rows = await appsUp(options);
    expect(rows.map((r) => [r.name, r.healthy, r.where, r.scimUrl])).toEqual([
      ['alpha', true, `http://127.0.0.1:${ports.alpha}`, alphaUrl()],
      ['beta', true, `http://127.0.0.1:${ports.beta}`, `http://127.0.0.1:${ports.beta}/scim/v2`],
    ]);
    expect(lines.some((l) => l.startsWith(`alpha: listening at http://127.0.0.1:${ports.alpha}`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`beta: listening at http://127.0.0.1:${ports.beta}`))).toBe(true);
    for (const row of rows) {
      expect(row.pid).toBe(pidOf(row.name));
      expect(row.pid).not.toBe(process.pid);
    }
    const health = await (await fetch(`http://127.0.0.1:${ports.alpha}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', app: 'alpha', pid: pidOf('alpha') });
    // pino JSON lines, and no secret in them
    const log = readFileSync(path.join(options.runDir, 'logs', 'app-alpha.log'), 'utf8');
    expect(JSON.parse(log.trim().split('\n')[0]!)).toMatchObject({ msg: 'SCIM app listening', app: 'alpha' });
    for (const secret of ['alpha-bearer-token', 'alpha-admin-token', 'alpha-client-secret']) expect(log).not.toContain(secret);
  });

  it('run again, it reuses the healthy apps instead of starting new ones', async () => {
    const before = [pidOf('alpha'), pidOf('beta')];
    lines.length = 0;
    const rows = await appsUp(options);
    expect(rows.map((r) => r.pid)).toEqual(before);
    expect(lines.filter((l) => l.includes('reusing the healthy app'))).toHaveLength(2);
  });

  it('the apps take the configured credentials, including a token from the environment and OAuth', async () => {
    expect((await scimRequest(alphaUrl(), 'alpha-bearer-token', 'GET', '/Users')).status).toBe(200);
    expect((await scimRequest(alphaUrl(), 'beta-bearer-token', 'GET', '/Users')).status).toBe(401);
    const token = await fetch(`http://127.0.0.1:${ports.alpha}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=prov&client_secret=alpha-client-secret',
    });
    const { access_token } = (await token.json()) as { access_token: string };
    expect((await scimRequest(alphaUrl(), access_token, 'GET', '/Users')).status).toBe(200);
    const faults = await fetch(`http://127.0.0.1:${ports.beta}/admin/faults`, { headers: { authorization: 'Bearer beta-admin-token' } });
    expect(((await faults.json()) as { faults: unknown }).faults).toEqual({ latencyMs: 1 });
  });

  it("leaves each app's bearer token where the worker's connector config names it, readable by its owner only", async () => {
    const file = appTokenFile(options.runDir, 'alpha');
    expect(readFileSync(file, 'utf8').trim()).toBe('alpha-bearer-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const connector = createConnector(parseConnectorConfig({ type: 'scim', app: 'alpha', baseUrl: alphaUrl(), auth: { kind: 'bearer', token: { file } } }));
    const call = { idempotencyKey: 'token-file', correlationId: 'token-file', signal: AbortSignal.timeout(5000) };
    expect(await connector.getAccount({ employeeId: 'E-NOBODY' }, call)).toBeUndefined();
    await connector.close?.();
  });

  it('refuses to start an app whose port another process holds', async () => {
    await appsDown({ ...options, only: ['beta'] });
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.beta, '127.0.0.1', resolve));
    try {
      await expect(appsUp({ ...options, only: ['beta'] })).rejects.toThrow(new RegExp(`beta: 127.0.0.1:${ports.beta} is in use`));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    expect((await appsUp({ ...options, only: ['beta'] }))[0]!.healthy).toBe(true);
  });
});

describe('apps status and down', () => {
  it('status tells the truth when an app was killed by hand, and up brings it back', async () => {
    const pid = pidOf('beta');
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const [alpha, beta] = await appsStatus(options);
    expect(alpha).toMatchObject({ name: 'alpha', healthy: true });
    expect(beta).toMatchObject({ name: 'beta', healthy: false, pid: undefined });
    expect(beta!.detail).toMatch(new RegExp(`process ${pid} is gone`));
    expect(formatAppsStatus([alpha!, beta!])).toMatch(/beta\s+DOWN/);
    const [, again] = await appsUp(options);
    expect(again).toMatchObject({ healthy: true });
    expect(again!.pid).not.toBe(pid);
  });

  it('down stops the apps by pid; their state survives to the next up', async () => {
    const created = await scimRequest(alphaUrl(), 'alpha-bearer-token', 'POST', '/Users', { body: userBody('kept', { externalId: 'E-KEPT' }) });
    expect(created.status).toBe(201);
    const pids = [pidOf('alpha'), pidOf('beta')];
    lines.length = 0;
    const stopped = await appsDown(options);
    expect(stopped).toEqual([{ name: 'alpha', stopped: true }, { name: 'beta', stopped: true }]);
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(lines).toEqual(['alpha: stopped', 'beta: stopped']);
    expect((await appsStatus(options)).map((r) => [r.name, r.healthy, r.detail])).toEqual([
      ['alpha', false, 'not running'],
      ['beta', false, 'not running'],
    ]);
    lines.length = 0;
    await appsDown(options);
    expect(lines).toEqual(['alpha: was not running', 'beta: was not running']);

    await appsUp({ ...options, only: ['alpha'] });
    const found = await scimRequest(alphaUrl(), 'alpha-bearer-token', 'GET', `/Users?filter=${encodeURIComponent('externalId eq "E-KEPT"')}`);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
  });

  it('an unknown app name is an error that lists the known ones', async () => {
    await expect(appsStatus({ ...options, only: ['gamma'] })).rejects.toThrow(/no app named gamma .*alpha, beta/);
  });
});

describe('an app of the apps file serving HTTPS under a base path, without an admin API', () => {
  it('apps up starts it, and a connector given its CA in tls.caFile provisions into it', async () => {
    const pki = createTestPki('Apps File CA');
    const port = await freePort();
    const appsFile = path.join(dir, 'tls-apps.yaml');
    writeFileSync(appsFile, `apps:\n  - { name: secure, port: ${port}, bearerToken: secure-bearer-token, profile: saas, tls: { certFile: ${pki.certFile}, keyFile: ${pki.keyFile} } }\n`);
    const tlsOptions: AppsCommandOptions = { appsFile, runDir: path.join(dir, 'tls-run'), projectRoot, log: () => undefined };
    try {
      const [row] = await appsUp(tlsOptions);
      expect(row).toMatchObject({ name: 'secure', healthy: true, where: `https://127.0.0.1:${port}`, scimUrl: `https://127.0.0.1:${port}/api/v1/identity/scim` });
      const connector = createConnector(
        parseConnectorConfig({ type: 'scim', app: 'secure', baseUrl: row!.scimUrl, auth: { kind: 'bearer', token: { file: appTokenFile(tlsOptions.runDir, 'secure') } }, tls: { caFile: pki.caFile } }),
      );
      const call = { idempotencyKey: 'tls-app', correlationId: 'tls-app', signal: AbortSignal.timeout(5000) };
      const created = await connector.ensureAccount({ employeeId: 'E-SECURE', userName: 'secure.person', givenName: 'Sec', familyName: 'Ure', email: 'secure@example.com', active: true }, call);
      expect(created.status).toBe('created');
      const dispatcher = new Agent({ connect: { ca: pki.ca } });
      expect((await fetch(`https://127.0.0.1:${port}/admin/stats`, { dispatcher })).status).toBe(404);
      await dispatcher.close();
    } finally {
      await appsDown(tlsOptions);
      pki.remove();
    }
  });
});
