// `provisioner apps up | down | status`: the SCIM target apps of config/apps.yaml, one detached
// `node dist/targets/main.js` process each, found again through their pid files in <runDir>/pids.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import { loadAppsFile, type ResolvedApp } from './apps-file.js';
import { isAlive, pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from '../stack/processes.js';
import type { ServerStatus } from '../stack/server-status.js';

export type AppsCommandOptions = {
  /** The apps file (config/apps.yaml). */
  appsFile: string;
  /** The project's data folder (`.provisioner`): pid files in pids/, logs in logs/. */
  runDir: string;
  /** Where dist/targets/main.js is, and what relative state files are relative to. */
  projectRoot: string;
  /** Prints a line for the person running the command. */
  log: (line: string) => void;
  /** Only these apps (by name); all when absent or empty. */
  only?: readonly string[];
  /** Environment for secrets named by *Env keys and for the app processes; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long an app may take to become healthy; default 20 s. */
  startTimeoutMs?: number;
  /** The apps' log level; default info. */
  logLevel?: string;
};

export type AppStatus = ServerStatus & { scimUrl: string; logFile: string };

type Health = { status?: string; app?: string; pid?: number; users?: number; groups?: number };

const processName = (app: string) => `app-${app}`;

/**
 * Where `apps up` leaves an app's development bearer token for the worker's connector, which names
 * the file in config/connectors.yaml (a secret reference, read on use).
 */
export const appTokenFile = (runDir: string, app: string): string => path.join(runDir, 'secrets', `${app}.scim-token`);

/** Writes the token the app accepts, readable by its owner only; a replaced file is swapped in whole. */
function writeAppToken(app: ResolvedApp, runDir: string): void {
  const token = app.bearerTokens[0];
  if (!token) return;
  const file = appTokenFile(runDir, app.name);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const next = `${file}.${process.pid}.tmp`;
  writeFileSync(next, `${token}\n`, { mode: 0o600 });
  chmodSync(next, 0o600);
  renameSync(next, file);
}

function selectApps(options: AppsCommandOptions): ResolvedApp[] {
  const apps = loadAppsFile(options.appsFile, { root: options.projectRoot, ...(options.env ? { env: options.env } : {}) });
  if (!options.only || options.only.length === 0) return apps;
  const unknown = options.only.filter((name) => !apps.some((a) => a.name === name));
  if (unknown.length > 0) throw new Error(`no app named ${unknown.join(', ')} in ${options.appsFile} (there are: ${apps.map((a) => a.name).join(', ')})`);
  return apps.filter((a) => options.only!.includes(a.name));
}

/**
 * The probe of an app serving HTTPS does not verify its certificate: the app may use a private CA
 * that only the worker's connector config names, and the probe identifies the process by the pid
 * its /health reports, not by the certificate.
 */
const unverified = new Agent({ connect: { rejectUnauthorized: false } });

/** GET /health: what answers at the app's address, if anything. */
async function probe(app: ResolvedApp): Promise<Health | undefined> {
  try {
    const res = await fetch(`${app.url}/health`, { signal: AbortSignal.timeout(2000), ...(app.tls ? { dispatcher: unverified } : {}) });
    return res.ok ? ((await res.json()) as Health) : undefined;
  } catch {
    return undefined;
  }
}

const answersAs = (health: Health | undefined, app: ResolvedApp, pid: number) => health?.status === 'ok' && health.app === app.name && health.pid === pid;

function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The PID a pid file records, alive or not. */
function recordedPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The child's environment: the caller's, minus any SCIM_APP_* it had, plus this app's secrets. */
function childEnv(app: ResolvedApp, options: AppsCommandOptions): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter(([k]) => !k.startsWith('SCIM_APP_')));
  return {
    ...env,
    LOG_LEVEL: options.logLevel ?? 'info',
    ...(app.adminToken ? { SCIM_APP_ADMIN_TOKEN: app.adminToken } : {}),
    ...(app.bearerTokens[0] ? { SCIM_APP_BEARER_TOKEN: app.bearerTokens[0] } : {}),
    ...(app.oauth
      ? {
          SCIM_APP_OAUTH_CLIENT_ID: app.oauth.clientId,
          SCIM_APP_OAUTH_CLIENT_SECRET: app.oauth.clientSecret,
          SCIM_APP_OAUTH_TOKEN_TTL: String(app.oauth.tokenTtlSeconds),
        }
      : {}),
  };
}

async function upOne(app: ResolvedApp, options: AppsCommandOptions, mainJs: string): Promise<void> {
  writeAppToken(app, options.runDir);
  const file = pidFile(options.runDir, processName(app.name));
  const running = readLivePid(file);
  if (running !== undefined) {
    try {
      await waitFor(`${app.name}`, async () => answersAs(await probe(app), app, running), { timeoutMs: 5000, alive: () => isAlive(running) });
      options.log(`${app.name}: reusing the healthy app at ${app.url} (SCIM ${app.scimUrl}; pid ${running})`);
      return;
    } catch {
      options.log(`${app.name}: pid ${running} does not answer at ${app.url}/health; restarting it`);
      await stopByPidFile(file, 5000);
    }
  }
  if (await portInUse(app.host, app.port)) {
    throw new Error(`${app.host}:${app.port} is in use by a process apps up did not start; stop it or change the port of ${app.name} in ${options.appsFile}`);
  }
  const started = startDetached({
    runDir: options.runDir,
    name: processName(app.name),
    command: process.execPath,
    args: [
      mainJs,
      '--name', app.name,
      '--port', String(app.port),
      '--host', app.host,
      ...(app.stateFile ? ['--state-file', app.stateFile] : []),
      ...(app.tls ? ['--tls-cert-file', app.tls.certFile, '--tls-key-file', app.tls.keyFile] : []),
      ...(app.faults ? ['--faults', JSON.stringify(app.faults)] : []),
      '--behaviour', JSON.stringify(app.behaviour),
    ],
    env: childEnv(app, options),
    cwd: options.projectRoot,
  });
  await waitFor(`${app.name}`, async () => answersAs(await probe(app), app, started.pid), {
    timeoutMs: options.startTimeoutMs ?? 20_000,
    alive: () => isAlive(started.pid),
    logFile: started.logFile,
  });
  options.log(`${app.name}: listening at ${app.url} (SCIM ${app.scimUrl}; pid ${started.pid}; log ${started.logFile})`);
}

/** Starts every configured app that is not already running and healthy; fails naming each app that could not start. */
export async function appsUp(options: AppsCommandOptions): Promise<AppStatus[]> {
  const apps = selectApps(options);
  const mainJs = path.join(options.projectRoot, 'dist', 'targets', 'main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing; build the project first (npm run build)`);
  const results = await Promise.allSettled(apps.map((app) => upOne(app, options, mainJs)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${apps[i]!.name}: ${(r.reason as Error).message}`] : []));
  if (failures.length > 0) throw new Error(`apps up failed:\n${failures.join('\n')}`);
  return appsStatus({ ...options, log: () => undefined });
}

/** Stops the apps `apps up` started (SIGTERM: each writes its state file first). */
export async function appsDown(options: AppsCommandOptions): Promise<Array<{ name: string; stopped: boolean }>> {
  const apps = selectApps(options);
  return Promise.all(
    apps.map(async (app) => {
      const stopped = await stopByPidFile(pidFile(options.runDir, processName(app.name)));
      options.log(`${app.name}: ${stopped ? 'stopped' : 'was not running'}`);
      return { name: app.name, stopped };
    }),
  );
}

/** What runs, checked against the pid files and each app's own /health (which names its pid). */
export async function appsStatus(options: AppsCommandOptions): Promise<AppStatus[]> {
  const apps = selectApps(options);
  return Promise.all(
    apps.map(async (app): Promise<AppStatus> => {
      const file = pidFile(options.runDir, processName(app.name));
      const logFile = path.join(options.runDir, 'logs', `${processName(app.name)}.log`);
      const pid = readLivePid(file);
      const recorded = recordedPid(file);
      const health = await probe(app);
      const row = { name: app.name, where: app.url, scimUrl: app.scimUrl, logFile, managed: true, pid };
      if (pid !== undefined && answersAs(health, app, pid)) {
        return { ...row, healthy: true, detail: `${health!.users ?? 0} users, ${health!.groups ?? 0} groups` };
      }
      if (pid !== undefined) {
        const detail = health ? `${app.url} is answered by another process (pid ${health.pid ?? '?'})` : `pid ${pid} is running but ${app.url}/health does not answer`;
        return { ...row, healthy: false, detail };
      }
      const gone = recorded !== undefined ? `not running: process ${recorded} is gone (stopped outside apps down, or crashed; see ${logFile})` : 'not running';
      const other = health ? `; ${app.url} is answered by a process apps up did not start (pid ${health.pid ?? '?'})` : '';
      return { ...row, healthy: false, detail: gone + other };
    }),
  );
}

export function formatAppsStatus(rows: AppStatus[]): string {
  return rows
    .map((r) => `${r.name.padEnd(9)} ${(r.healthy ? 'healthy' : 'DOWN').padEnd(8)} ${(r.pid ? `pid ${r.pid}` : '-').padEnd(12)} ${r.scimUrl}${r.detail ? `  (${r.detail})` : ''}`)
    .join('\n');
}
