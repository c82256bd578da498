// The demo's `provisioner dev` process, run under a small supervisor that restarts it if it
// crashes (a clean exit after SIGTERM ends the supervisor too); stopped by its PID file.
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from '../stack/processes.js';

const NAME = 'dev';

async function ready(cfg: Config): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${cfg.http.devPort}/ready`, { signal: AbortSignal.timeout(1000) });
  return res.status === 200;
}

export async function devProcessUp(cfg: Config, root: string, report: (line: string) => void): Promise<void> {
  if (readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined && (await ready(cfg).catch(() => false))) {
    report(`dev: reusing the running provisioner dev process (health http://127.0.0.1:${cfg.http.devPort}/ready)`);
    return;
  }
  await stopByPidFile(pidFile(cfg.dataDir, NAME));
  const cli = path.join(root, 'bin', 'provisioner.js');
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: 'bash',
    args: ['-c', `while :; do node ${JSON.stringify(cli)} dev && exit 0; echo "supervisor: provisioner dev exited with $?; restarting in 2 s"; sleep 2; done`],
    cwd: root,
  });
  report(`dev: starting provisioner dev under supervision (pid ${proc.pid}, log ${proc.logFile})`);
  await waitFor('provisioner dev', () => ready(cfg), { timeoutMs: 60_000, intervalMs: 300, logFile: proc.logFile });
  report(`dev: worker and ingress ready (health http://127.0.0.1:${cfg.http.devPort}/health, readiness /ready)`);
}

export async function devProcessDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 30_000);
}
