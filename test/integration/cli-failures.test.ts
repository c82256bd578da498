// The built CLI fails the way a person at the terminal needs: at once, with a non-zero status and
// one line that says what failed and where the log is; a reader that stops reading ends it quietly.
// Runs `bin/provisioner.js` (dist/, built by `npm test`'s setup) on its own ports, topics and
// data folder, against the servers of the integration layer.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, projectRoot, type Config } from '../../schemas/config.js';
import { freePort, readLivePid, pidFile } from '../../stack/processes.js';
import { uniqueName } from '../helpers/unique.js';

const cliJs = path.join(projectRoot, 'bin', 'provisioner.js');

/** Holds a port as another process would. */
const hold = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const release = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

type Ended = { code: number | null; stdout: string; stderr: string; ms: number };

/** Runs the CLI to its end; `closeStdout`: the reader goes away before the CLI writes (`| head`). */
function cli(args: string[], env: NodeJS.ProcessEnv, options: { closeStdout?: boolean } = {}): Promise<Ended> {
  const started = Date.now();
  const child = spawn(process.execPath, [cliJs, ...args], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

let cfg: Config;
let env: NodeJS.ProcessEnv;
let apiPort: number;

/** A config file of the test's own (ports, topics, task queue, data folder), and the environment that names it. */
function writeConfig(dir: string, overrides: Partial<Config> = {}): string {
  const file = path.join(dir, `${uniqueName('config')}.yaml`);
  writeFileSync(file, stringify({ ...cfg, ...overrides }));
  return file;
}

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const base = loadConfig();
  const dir = mkdtempSync(path.join(tmpdir(), 'cli-failures-'));
  const prefix = uniqueName('cli');
  const appsFile = path.join(dir, 'apps.yaml');
  const appNames = ['chat', 'code', 'crm'];
  const appPorts = await Promise.all(appNames.map(() => freePort()));
  writeFileSync(
    appsFile,
    stringify({ apps: appNames.map((name, i) => ({ name, port: appPorts[i], bearerToken: `t-${name}-${prefix}`, adminToken: `a-${name}-${prefix}`, stateFile: path.join(dir, `${name}.json`) })) }),
  );
  // How the worker reaches those apps: their URLs and the token files `apps up` writes.
  const connectorsFile = path.join(dir, 'connectors.yaml');
  const tokenFile = (name: string) => path.join(dir, 'data', 'secrets', `${name}.scim-token`);
  writeFileSync(connectorsFile, stringify({ connectors: appNames.map((name, i) => ({ type: 'scim', app: name, baseUrl: `http://127.0.0.1:${appPorts[i]}/scim/v2`, auth: { kind: 'bearer', token: { file: tokenFile(name) } } })) }));
  cfg = {
    ...base,
    dataDir: path.join(dir, 'data'),
    kafka: {
      ...base.kafka,
      clientId: prefix,
      topics: { hrLifecycle: `${prefix}.hr`, itsmRequests: `${prefix}.itsm`, outcomes: `${prefix}.outcomes`, audit: `${prefix}.audit` },
    },
    temporal: { ...base.temporal, taskQueue: prefix },
    apps: { file: appsFile },
    connectors: { file: connectorsFile },
    http: { ...base.http, workerPort: await freePort(), ingressPort: await freePort(), devPort: await freePort(), apiPort: (apiPort = await freePort()) },
  };
  env = { ...process.env, PROVISIONER_CONFIG: writeConfig(dir), LOG_LEVEL: 'warn' };
});

afterAll(async () => {
  // The demo test starts the apps (and leaves them running, as the demo does).
  if (env) await cli(['apps', 'down'], env);
});

describe('a process whose port is taken', () => {
  it('worker, ingress and dev exit with 1 and one line naming the port and its setting, before taking any event', async () => {
    const names = ['worker', 'ingress', 'dev'] as const;
    const ports = { worker: cfg.http.workerPort, ingress: cfg.http.ingressPort, dev: cfg.http.devPort };
    const held = await Promise.all(names.map((n) => hold(ports[n])));
    try {
      const ended = await Promise.all(names.map((n) => cli([n], env)));
      ended.forEach((e, i) => {
        const name = names[i]!;
        expect(e.code).toBe(1);
        expect(lines(e.stderr)).toEqual([`provisioner ${name}: port ${ports[name]} is in use (http.${name}Port); stop the process that holds it, or give http.${name}Port another port`]);
        expect(e.stdout).toBe(''); // no worker, no consumer: nothing started
      });
    } finally {
      await Promise.all(held.map(release));
    }
  });

  it("dev exits the same way when the API's port is taken", async () => {
    const held = await hold(apiPort);
    try {
      const e = await cli(['dev'], env);
      expect(e.code).toBe(1);
      expect(lines(e.stderr)).toEqual([`provisioner dev: port ${apiPort} is in use (http.apiPort); stop the process that holds it, or give http.apiPort another port`]);
    } finally {
      await release(held);
    }
  });
});

describe('an output command whose reader stops reading', () => {
  it('`provisioner status | head` ends quietly with status 0, not an EPIPE stack trace', async () => {
    const e = await cli(['status'], env, { closeStdout: true });
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
  });
});

describe('publishing an event the broker refuses', () => {
  it("ends with one line giving the broker's reason and the topic", async () => {
    const missing = uniqueName('no-such-topic');
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-publish-'));
    const config = writeConfig(dir, { kafka: { ...cfg.kafka, topics: { ...cfg.kafka.topics, hrLifecycle: missing } } });
    const events = path.join(dir, 'one.jsonl');
    const hire = {
      specversion: '1.0', id: uniqueName('hire'), source: 'urn:hris:test', type: 'hr.worker.hired', time: '2026-11-22T08:00:00Z', subject: 'E9001',
      datacontenttype: 'application/json',
      data: { employeeId: 'E9001', sequence: 1, effectiveAt: '2026-11-22T08:00:00Z', status: 'active', givenName: 'Test', familyName: 'Hire', email: 'test.hire@example.com', department: 'Engineering', region: 'eu', startDate: '2026-11-23' },
    };
    writeFileSync(events, `${JSON.stringify(hire)}\n`);
    expect((await cli(['publish', '--dry-run', events], { ...env, PROVISIONER_CONFIG: config })).code).toBe(0);

    const e = await cli(['publish', events], { ...env, PROVISIONER_CONFIG: config });
    expect(e.code).toBe(1);
    expect(lines(e.stderr)).toHaveLength(1);
    expect(e.stderr).toContain(`publish: Kafka at ${cfg.kafka.brokers.join(',')} did not take the events for ${missing}: `);
    expect(e.stderr).toContain('(UNKNOWN_TOPIC_OR_PARTITION): the topic does not exist');
  });
});

describe('a demo whose provisioner dev cannot start', () => {
  it('fails step 3 within seconds with one line naming the step and dev.log, and leaves no dev process restarting', { timeout: 240_000 }, async () => {
    const held = await hold(apiPort);
    try {
      const started = Date.now();
      const child = spawn(process.execPath, [cliJs, 'demo'], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let step3At: number | undefined;
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (step3At === undefined && stdout.includes('demo: 3/8')) step3At = Date.now();
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      const devLog = path.join(cfg.dataDir, 'logs', 'dev.log');
      expect(code, stdout + stderr).toBe(1);
      expect(lines(stderr)).toEqual([
        `demo: step 3/8 (provisioner dev) failed: provisioner dev exited with 1 (port ${apiPort} is in use (http.apiPort); stop the process that holds it, or give http.apiPort another port); see ${devLog}`,
      ]);
      // The dev process fails within its start-up; the demo notices its exit at once, not after a deadline.
      expect(Date.now() - step3At!).toBeLessThan(60_000);
      expect(Date.now() - started).toBeLessThan(200_000);
      expect(readLivePid(pidFile(cfg.dataDir, 'dev'))).toBeUndefined();
    } finally {
      await release(held);
    }
  });
});
