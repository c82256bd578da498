// The demo's `provisioner dev` process, run under a small supervisor that restarts it if it
// crashes (a clean exit after SIGTERM ends the supervisor too); stopped by its PID file. Whoever
// waits on it learns of a crash at once: the supervisor writes a line to the log for each exit.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { pidFile, readLivePid, sleep, startDetached, stopByPidFile } from '../stack/processes.js';
import { assertPortFree } from '../runtime/ports.js';

const NAME = 'dev';
const SUPERVISOR_LINE = /^supervisor: provisioner dev exited with (\d+)/;

async function ready(cfg: Config): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${cfg.http.devPort}/ready`, { signal: AbortSignal.timeout(1000) });
  return res.status === 200;
}

export function devLogFile(cfg: Config): string {
  return path.join(cfg.dataDir, 'logs', `${NAME}.log`);
}

/** What a line of the dev log says, in words: a pino record's message (and error), or the line itself. */
function wordsOf(line: string): string {
  try {
    const record = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return [record.msg, record.err?.message].filter(Boolean).join(': ') || line;
  } catch {
    return line;
  }
}

/**
 * Follows the dev log from where it ended when the watch began: `exited()` says why the process
 * ended since then (its last words and its status), or undefined while it has not.
 */
export class DevProcessWatch {
  private offset: number;
  private tail = '';
  private lastWords = '';
  private exit: string | undefined;

  constructor(readonly logFile: string) {
    this.offset = statSync(logFile, { throwIfNoEntry: false })?.size ?? 0;
  }

  exited(): string | undefined {
    if (this.exit) return this.exit;
    const size = statSync(this.logFile, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.offset) return undefined;
    const fd = openSync(this.logFile, 'r');
    const chunk = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
    try {
      this.offset += readSync(fd, chunk, 0, chunk.length, this.offset);
    } finally {
      closeSync(fd);
    }
    const lines = (this.tail + chunk.toString('utf8')).split('\n');
    this.tail = lines.pop() ?? '';
    for (const line of lines.map((l) => l.trim()).filter(Boolean)) {
      const supervisor = SUPERVISOR_LINE.exec(line);
      if (supervisor) {
        this.exit = `provisioner dev exited with ${supervisor[1]}${this.lastWords ? ` (${this.lastWords})` : ''}`;
        return this.exit;
      }
      this.lastWords = wordsOf(line).replace(/^provisioner dev: /, '').slice(0, 300);
    }
    return undefined;
  }
}

export async function devProcessUp(cfg: Config, root: string, report: (line: string) => void, timeoutMs = 180_000): Promise<void> {
  const file = pidFile(cfg.dataDir, NAME);
  if (readLivePid(file) !== undefined && (await ready(cfg).catch(() => false))) {
    report(`dev: reusing the running provisioner dev process (health http://127.0.0.1:${cfg.http.devPort}/ready)`);
    return;
  }
  await stopByPidFile(file);
  // Another process answering on the port would look ready: refuse it before starting ours.
  await assertPortFree(cfg.http.devPort, 'http.devPort');
  const cli = path.join(root, 'bin', 'provisioner.js');
  const watch = new DevProcessWatch(devLogFile(cfg));
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: 'bash',
    args: ['-c', `while :; do node ${JSON.stringify(cli)} dev && exit 0; echo "supervisor: provisioner dev exited with $?; restarting in 2 s"; sleep 2; done`],
    cwd: root,
  });
  report(`dev: starting provisioner dev under supervision (pid ${proc.pid}, log ${proc.logFile})`);
  // Ready, or the first exit (a taken port, an unreachable server: a restart would fail the same way), or the deadline.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = watch.exited() ?? (readLivePid(file) === undefined ? 'its supervisor is gone' : undefined);
    if (!exited && (await ready(cfg).catch(() => false))) break;
    if (exited || Date.now() > deadline) {
      await stopByPidFile(file, 5000);
      throw new Error(`${exited ?? `provisioner dev was not ready after ${Math.round(timeoutMs / 1000)} s`}; see ${proc.logFile}`);
    }
    await sleep(300);
  }
  report(`dev: worker and ingress ready (health http://127.0.0.1:${cfg.http.devPort}/health, readiness /ready)`);
}

/** Is the supervised dev process (its supervisor) running? */
export function devProcessRunning(cfg: Config): boolean {
  return readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined;
}

export async function devProcessDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 30_000);
}
