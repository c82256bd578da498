// A Temporal dev server the drill owns: the stack's binary and settings (stack/temporal.ts: its
// dynamic config, SQLite pragmas, namespace and search attributes) on free ports, with its own
// SQLite file under the drill's data folder. A drill crashes and restarts this one; the stack's
// server, which every other pipeline and test uses, is never touched.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { freePort, pidFile, readLivePid, stopPid } from '../stack/processes.js';
import { temporalDown, temporalUp } from '../stack/temporal.js';

export type OwnTemporal = {
  /** The configuration that points at this server (the pipeline's base takes its `temporal`). */
  cfg: Config;
  /** The server's SQLite file (with its -wal and -shm beside it). */
  dbFile: string;
  /** SIGKILL, as a crash: returns the pid it killed, undefined when none was running. */
  crash(): Promise<number | undefined>;
  /** Starts it (again, on the same file) and waits until it serves the namespace; returns its pid. */
  start(): Promise<number | undefined>;
  stop(): Promise<void>;
};

export async function ownTemporal(base: Config, name: string, say: (line: string) => void): Promise<OwnTemporal> {
  const dataDir = path.join(base.dataDir, 'drills', `${name}-temporal-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`);
  // The plain dev server: no TLS, no API key (those are for the stack's secured or cloud servers).
  const { tls: _tls, apiKey: _apiKey, apiKeyFile: _apiKeyFile, ...temporal } = base.temporal;
  const cfg: Config = {
    ...base,
    dataDir,
    stack: { ...base.stack, secure: false },
    temporal: { ...temporal, external: false, address: `127.0.0.1:${await freePort()}`, uiPort: await freePort() },
  };
  const pid = () => readLivePid(pidFile(dataDir, 'temporal'));
  const report = (line: string) => say(`drill ${name}: ${line}`);
  return {
    cfg,
    dbFile: path.join(dataDir, 'temporal', 'temporal.db'),
    async crash() {
      const running = pid();
      if (running !== undefined) await stopPid(running, 10_000, 'SIGKILL');
      return running;
    },
    async start() {
      await temporalUp(cfg, report);
      return pid();
    },
    async stop() {
      await temporalDown(cfg);
    },
  };
}
