// A PostgreSQL server from Debian's packages, run as a process with its own data folder.
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../schemas/config.js';
import { databaseUrl } from '../schemas/config.js';
import { installDebianPackages } from './debian-packages.js';
import { pidFile, readLivePid, stopByPidFile, waitFor } from './processes.js';
import { run, which, type Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'postgres';
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function findBindir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const initdb = which('initdb');
    if (initdb) return path.dirname(initdb);
  }
  return undefined;
}

/**
 * The server refuses to run as root, so as root it runs as the `postgres` user in a folder that
 * user can reach (not under a 0700 home): /var/tmp/provisioner-<hash of the data dir>/postgres.
 */
function serverDir(cfg: Config): string {
  if (!isRoot()) return path.join(cfg.dataDir, NAME);
  const hash = createHash('sha256').update(cfg.dataDir).digest('hex').slice(0, 10);
  return path.join('/var/tmp', `provisioner-${hash}`, NAME);
}

async function asServerUser(command: string, args: string[]): Promise<void> {
  if (isRoot()) await run('runuser', ['-u', 'postgres', '--', command, ...args]);
  else await run(command, args);
}

export async function postgresHealthy(cfg: Config): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl(cfg), connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(cfg: Config): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${cfg.postgres.port}/postgres`, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [cfg.postgres.database]);
    if (found.rowCount === 0) await client.query(`create database "${cfg.postgres.database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

export async function postgresUp(cfg: Config, report: Reporter): Promise<void> {
  const where = cfg.postgres.url ? cfg.postgres.url.replace(/\/\/[^@]*@/, '//***@') : `127.0.0.1:${cfg.postgres.port}`;
  if (cfg.postgres.external) {
    if (!(await postgresHealthy(cfg))) throw new Error(`postgres: DATABASE_URL (${where}) is not reachable; start that server or unset DATABASE_URL`);
    report(`postgres: using DATABASE_URL (${where})`);
    return;
  }
  if (await postgresHealthy(cfg)) {
    report(`postgres: reusing the healthy server at ${where}`);
    return;
  }
  let bindir = findBindir();
  if (!bindir) {
    await installDebianPackages(['postgresql'], 'PostgreSQL', report);
    bindir = findBindir();
    if (!bindir) throw new Error('postgres: installed the postgresql package but found no initdb under /usr/lib/postgresql');
  }
  const dir = serverDir(cfg);
  const data = path.join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    report(`postgres: initialising a data folder in ${data}`);
    await asServerUser(path.join(bindir, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  }
  const logFile = path.join(dir, 'server.log');
  await asServerUser(path.join(bindir, 'pg_ctl'), [
    '-D', data, '-l', logFile, '-w', '-t', '60',
    '-o', `-p ${cfg.postgres.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`,
    'start',
  ]);
  const pid = Number.parseInt(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
  mkdirSync(path.dirname(pidFile(cfg.dataDir, NAME)), { recursive: true });
  writeFileSync(pidFile(cfg.dataDir, NAME), `${pid}\n`);
  report(`postgres: started PostgreSQL (pid ${pid}, data ${data}, log ${logFile})`);
  await waitFor('postgres', async () => {
    await ensureDatabase(cfg);
    return postgresHealthy(cfg);
  }, { timeoutMs: 30_000, logFile });
  report(`postgres: listening on ${where}, database ${cfg.postgres.database}`);
}

export async function postgresDown(cfg: Config): Promise<boolean> {
  // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 30_000, 'SIGINT');
}

export async function postgresStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: cfg.postgres.url ? 'DATABASE_URL' : `127.0.0.1:${cfg.postgres.port}/${cfg.postgres.database}`,
    managed: !cfg.postgres.external,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await postgresHealthy(cfg),
  };
}
