// A PostgreSQL server from Debian's packages, run as a process with its own data folder.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ownerConnection, runtimeConnection, stackPkiDir, stackSecretFile, type Config, type PostgresConnection } from '../schemas/config.js';
import { quoteIdent } from '../store/migrate.js';
import { PostgresConnectionError, pgClientConfig, postgresConnectionFailure, postgresTarget } from '../store/postgres-connection.js';
import { devPkiFiles } from './dev-pki.js';
import { ensureDevSecret } from './dev-secrets.js';
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
export function serverDir(cfg: Config): string {
  if (!isRoot()) return path.join(cfg.dataDir, NAME);
  const hash = createHash('sha256').update(cfg.dataDir).digest('hex').slice(0, 10);
  return path.join('/var/tmp', `provisioner-${hash}`, NAME);
}

async function asServerUser(command: string, args: string[]): Promise<void> {
  if (isRoot()) await run('runuser', ['-u', 'postgres', '--', command, ...args]);
  else await run(command, args);
}

/** Why the processes could not connect (as the runtime role, with its password file and TLS settings), or undefined when they can. */
async function connectionProblem(cfg: Config): Promise<Error | undefined> {
  const connection = runtimeConnection(cfg);
  let client: pg.Client | undefined;
  try {
    client = new pg.Client({ ...pgClientConfig(connection), connectionTimeoutMillis: 1500 });
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return postgresConnectionFailure(err, connection) ?? (err as Error);
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export async function postgresHealthy(cfg: Config): Promise<boolean> {
  return (await connectionProblem(cfg)) === undefined;
}

/**
 * The stack's own superuser connection: over TCP on the plain stack; on the secured one only over
 * the server's unix socket, since TCP admits nobody without TLS and a password.
 */
function adminClient(cfg: Config): pg.Client {
  return cfg.stack.secure
    ? new pg.Client({ host: serverDir(cfg), port: cfg.postgres.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 3000 })
    : new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${cfg.postgres.port}/postgres`, connectionTimeoutMillis: 3000 });
}

const quoteLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The secured stack's roles, named by the configuration the processes read: the owner (the user of
 * postgres.ownerUrl) and the runtime role (the user of postgres.url), each with the password in its
 * password file (a development secret made once). The database belongs to the owner; only they and
 * the runtime role may connect to it.
 */
function secureRoles(cfg: Config): { owner?: { name: string; password: string }; runtime: { name: string; password: string } } {
  const role = (connection: PostgresConnection, secret: string) => ({
    name: postgresTarget(connection).user,
    password: ensureDevSecret(connection.passwordFile ?? stackSecretFile(cfg, secret)),
  });
  const owner = ownerConnection(cfg);
  return { ...(owner ? { owner: role(owner, 'postgres-owner-password') } : {}), runtime: role(runtimeConnection(cfg), 'postgres-app-password') };
}

async function ensureDatabase(cfg: Config): Promise<void> {
  const client = adminClient(cfg);
  await client.connect();
  try {
    const database = quoteIdent(cfg.postgres.database);
    const roles = cfg.stack.secure ? secureRoles(cfg) : undefined;
    for (const r of roles ? [roles.owner, roles.runtime] : []) {
      if (!r || r.name === 'postgres') continue;
      const found = await client.query('select 1 from pg_roles where rolname = $1', [r.name]);
      // The password goes in the statement (CREATE ROLE takes no parameters); the server does not log statements here.
      await client.query(`${found.rowCount === 0 ? 'create' : 'alter'} role ${quoteIdent(r.name)} login nosuperuser nocreaterole nocreatedb password ${quoteLiteral(r.password)}`);
    }
    const found = await client.query('select 1 from pg_database where datname = $1', [cfg.postgres.database]);
    const owner = roles?.owner ?? roles?.runtime;
    if (found.rowCount === 0) await client.query(`create database ${database}${owner ? ` owner ${quoteIdent(owner.name)}` : ''}`);
    if (roles && owner) {
      await client.query(`alter database ${database} owner to ${quoteIdent(owner.name)}`);
      await client.query(`revoke all on database ${database} from public`);
      await client.query(`grant connect on database ${database} to ${quoteIdent(roles.runtime.name)}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * The secured server's TLS files and client rules, in its folder (the server reads them as its
 * own user; the key must be that user's, mode 0600): TCP only over TLS with SCRAM passwords, the
 * superuser only over the unix socket. Returns the server options that use them.
 */
async function secureServer(cfg: Config, dir: string, data: string): Promise<string> {
  const pki = devPkiFiles(stackPkiDir(cfg));
  const tlsDir = path.join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const files = { cert: path.join(tlsDir, 'server.crt'), key: path.join(tlsDir, 'server.key') };
  copyFileSync(pki.certFile, files.cert);
  copyFileSync(pki.keyFile, files.key);
  chmodSync(files.key, 0o600);
  writeFileSync(
    path.join(data, 'pg_hba.conf'),
    [
      '# Written by `provisioner stack up --secure`: rewritten at each start.',
      '# The stack\'s superuser, over the unix socket only (its folder is the server user\'s).',
      'local all postgres trust',
      '# Everyone else: TLS and a SCRAM password; no plain `host` lines.',
      'hostssl all all 127.0.0.1/32 scram-sha-256',
      'hostssl all all ::1/128 scram-sha-256',
      '',
    ].join('\n'),
  );
  if (isRoot()) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    for (const f of [tlsDir, files.cert, files.key, path.join(data, 'pg_hba.conf')]) chownSync(f, uid, gid);
  }
  return `-c ssl=on -c ssl_cert_file=${files.cert} -c ssl_key_file=${files.key} -c password_encryption=scram-sha-256 -c unix_socket_permissions=0700`;
}

/**
 * `durable`: with fsync and synchronous commits, as production runs PostgreSQL (a drill that crashes
 * the server must not lose commits it acknowledged); the local stack runs without, for speed.
 */
export async function postgresUp(cfg: Config, report: Reporter, options: { durable?: boolean } = {}): Promise<void> {
  const where = cfg.postgres.url ? cfg.postgres.url.replace(/\/\/[^@]*@/, '//***@') : `127.0.0.1:${cfg.postgres.port}`;
  if (cfg.postgres.external) {
    const problem = await connectionProblem(cfg);
    if (problem instanceof PostgresConnectionError) throw problem;
    if (problem) throw new Error(`postgres: DATABASE_URL (${where}) is not reachable (${problem.message.split('\n')[0]}); start that server or unset DATABASE_URL`);
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
  const secured = cfg.stack.secure ? ` ${await secureServer(cfg, dir, data)}` : '';
  await asServerUser(path.join(bindir, 'pg_ctl'), [
    '-D', data, '-l', logFile, '-w', '-t', '60',
    '-o', `-p ${cfg.postgres.port} -k ${dir} -c listen_addresses=127.0.0.1${options.durable ? '' : ' -c fsync=off -c synchronous_commit=off'}${secured}`,
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
  report(`postgres: listening on ${where}, database ${cfg.postgres.database}${cfg.stack.secure ? ' (TLS and SCRAM passwords only)' : ''}`);
}

export async function postgresDown(cfg: Config): Promise<boolean> {
  // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 30_000, 'SIGINT');
}

export async function postgresStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: cfg.postgres.external ? 'DATABASE_URL' : cfg.postgres.url ? cfg.postgres.url.replace(/\/\/[^@]*@/, '//***@') : `127.0.0.1:${cfg.postgres.port}/${cfg.postgres.database}`,
    managed: !cfg.postgres.external,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await postgresHealthy(cfg),
  };
}
