// A PostgreSQL cluster the drill owns: the stack's server (stack/postgres.ts: Debian's binaries, its
// own data folder, initdb on first start) on a free port, so a drill can crash and restart it
// without touching the stack's server that every other pipeline and test uses. Removed afterwards.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { postgresDown, postgresUp, serverDir } from '../stack/postgres.js';
import { freePort, pidFile, readLivePid, stopPid } from '../stack/processes.js';

export type OwnPostgres = {
  /** The configuration that points at this server (the pipeline's base takes its `postgres`). */
  cfg: Config;
  /** The cluster's data folder (initdb's). */
  dataDir: string;
  /** The server's log (pg_ctl's -l): crash recovery shows there. */
  logFile: string;
  /**
   * An immediate shutdown, as `pg_ctl stop -m immediate` sends it (SIGQUIT to the postmaster): no
   * checkpoint, every session cut, crash recovery at the next start. Returns the pid it stopped.
   */
  crash(): Promise<number | undefined>;
  /** Starts it (again, on the same data folder; initdb when there is none) and waits until it serves. */
  start(): Promise<number | undefined>;
  /** Stops it and removes its data (its server log kept in the drill's folder, logs/postgres-server.log). */
  remove(): Promise<void>;
};

export async function ownPostgres(base: Config, name: string, say: (line: string) => void): Promise<OwnPostgres> {
  const dataDir = path.join(base.dataDir, 'drills', `${name}-postgres-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`);
  // The plain local server: the stack's superuser, no TLS, no password files, one role.
  const { url: _url, passwordFile: _passwordFile, ownerUrl: _ownerUrl, ownerPasswordFile: _ownerPasswordFile, ...postgres } = base.postgres;
  const cfg: Config = {
    ...base,
    dataDir,
    stack: { ...base.stack, secure: false },
    postgres: { ...postgres, external: false, port: await freePort(), tls: { mode: 'disable' } },
  };
  const pid = () => readLivePid(pidFile(dataDir, 'postgres'));
  const report = (line: string) => say(`drill ${name}: ${line}`);
  return {
    cfg,
    dataDir: path.join(serverDir(cfg), 'data'),
    logFile: path.join(serverDir(cfg), 'server.log'),
    async crash() {
      const running = pid();
      if (running !== undefined) await stopPid(running, 30_000, 'SIGQUIT');
      return running;
    },
    async start() {
      await postgresUp(cfg, report, { durable: true });
      return pid();
    },
    async remove() {
      await postgresDown(cfg);
      const log = path.join(serverDir(cfg), 'server.log');
      mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
      if (existsSync(log)) copyFileSync(log, path.join(dataDir, 'logs', 'postgres-server.log'));
      // As root the server's folder is /var/tmp/provisioner-<hash of dataDir>/ (this drill's alone); else dataDir/postgres.
      rmSync(path.dirname(serverDir(cfg)) === dataDir ? serverDir(cfg) : path.dirname(serverDir(cfg)), { recursive: true, force: true });
    },
  };
}
