// An OpenLDAP slapd the drill owns: the stack's server (stack/slapd.ts: Debian's slapd, the project's
// slapd.conf with its schemas, the memberof and refint overlays the LDAP connector relies on, the
// project's base DN) on a port of its own, with its own data folder and admin password under the
// drill's data folder. A drill kills and restarts this one; the stack's slapd, which every other
// pipeline and test uses, is never touched. Removed afterwards.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { freePort, pidFile, readLivePid, stopPid } from '../stack/processes.js';
import { slapdDir, slapdDown, slapdUp } from '../stack/slapd.js';

export type OwnSlapd = {
  /** The configuration that points at this server (the pipeline's base takes its `ldap`). */
  cfg: Config;
  /** The server's mdb database folder (slapd.conf's `directory`). */
  dataDir: string;
  /** Stops it with `signal` (SIGKILL: a crash; SIGTERM: slapd's clean shutdown); returns the pid it stopped. */
  stop(signal: NodeJS.Signals): Promise<number | undefined>;
  /** Starts it (again, on the same data folder; an empty one is seeded with the base entry) and waits until it serves. */
  start(): Promise<number | undefined>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
};

export async function ownSlapd(base: Config, name: string, say: (line: string) => void): Promise<OwnSlapd> {
  const dataDir = path.join(base.dataDir, 'drills', `${name}-slapd-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`);
  // The plain local server: no TLS, a password of its own (no password file), created by the drill.
  const { bindPasswordFile: _bindPasswordFile, ...ldap } = base.ldap;
  const cfg: Config = {
    ...base,
    dataDir,
    stack: { ...base.stack, secure: false },
    ldap: { ...ldap, external: false, url: `ldap://127.0.0.1:${await freePort()}`, bindPassword: randomBytes(18).toString('hex'), tls: { startTls: false } },
  };
  const pid = () => readLivePid(pidFile(dataDir, 'slapd'));
  const report = (line: string) => say(`drill ${name}: ${line}`);
  return {
    cfg,
    dataDir: path.join(slapdDir(cfg), 'data'),
    async stop(signal) {
      const running = pid();
      if (running !== undefined) await stopPid(running, 15_000, signal);
      return running;
    },
    async start() {
      await slapdUp(cfg, report);
      return pid();
    },
    async remove() {
      await slapdDown(cfg);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
