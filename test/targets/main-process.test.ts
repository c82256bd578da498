// The app as a process (node dist/targets/main.js): options from arguments and SCIM_APP_*
// variables, pino JSON on stdout, and SIGTERM writing the state file before it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureTargetsBuilt, scimRequest, targetMainJs, userBody } from '../helpers/scim-app.js';

let dir: string;
let child: ChildProcess | undefined;
beforeAll(() => ensureTargetsBuilt(), 180_000);
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'scim-main-'));
});
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
});

type Started = { lines: Array<Record<string, unknown>>; stdout: () => string; exited: Promise<number | null>; scimUrl: string };

async function startProcess(args: string[], env: Record<string, string>): Promise<Started> {
  const proc = spawn(process.execPath, [targetMainJs, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const parse = () => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  const deadline = Date.now() + 15_000;
  while (!parse().some((l) => l.msg === 'SCIM app listening')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the app did not start:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const listening = parse().find((l) => l.msg === 'SCIM app listening')!;
  return { get lines() { return parse(); }, stdout: () => out, exited, scimUrl: listening.scimUrl as string };
}

describe('the app process', () => {
  it('logs pino JSON to stdout, and on SIGTERM writes its state file and exits 0', async () => {
    const stateFile = path.join(dir, 'state.json');
    const app = await startProcess(['--name', 'proc', '--port', '0', '--state-file', stateFile, '--persist-delay-ms', '600000'], {
      SCIM_APP_BEARER_TOKEN: 'proc-bearer-token',
      SCIM_APP_ADMIN_TOKEN: 'proc-admin-token',
      LOG_LEVEL: 'debug',
    });
    expect(app.scimUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    expect((await scimRequest(app.scimUrl, 'proc-bearer-token', 'POST', '/Users', { body: userBody('written-before-sigterm') })).status).toBe(201);
    expect(existsSync(stateFile)).toBe(false); // the state file write is still 10 minutes away
    child!.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { users: Array<{ userName: string }> };
    expect(state.users.map((u) => u.userName)).toEqual(['written-before-sigterm']);
    expect(app.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['SCIM app listening', 'request', 'stopping', 'SCIM app stopped']));
    expect(app.stdout()).not.toContain('proc-bearer-token');
    expect(app.stdout()).not.toContain('proc-admin-token');
  });

  it('exits 2 with a message naming what is missing when it lacks options', async () => {
    const proc = spawn(process.execPath, [targetMainJs, '--name', 'proc', '--port', '0'], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/bearer token or OAuth client credentials/);
  });
});
