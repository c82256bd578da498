// Background processes that the project starts and later stops by the PID it recorded.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export type ManagedProcess = { name: string; pid: number; logFile: string };

export function pidFile(runDir: string, name: string): string {
  return path.join(runDir, 'pids', `${name}.pid`);
}

/** Is a process with this PID alive (and not a zombie)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The PID recorded in a pid file, if the file exists and the process is alive. */
export function readLivePid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Starts a detached process with its output in a log file and records its PID. */
export function startDetached(options: {
  runDir: string;
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): ManagedProcess {
  const logDir = path.join(options.runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(path.join(options.runDir, 'pids'), { recursive: true });
  const logFile = path.join(logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command}); see ${logFile}`);
  child.unref();
  writeFileSync(pidFile(options.runDir, options.name), `${child.pid}\n`);
  return { name: options.name, pid: child.pid, logFile };
}

/** Sends a signal (SIGTERM by default) to a PID and its process group, then SIGKILL after a grace period. */
export async function stopPid(pid: number, graceMs = 15_000, first: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal(first);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  signal('SIGKILL');
  await sleep(200);
  return true;
}

/** Stops the process recorded in a pid file and removes the file. */
export async function stopByPidFile(file: string, graceMs?: number, first?: NodeJS.Signals): Promise<boolean> {
  const pid = readLivePid(file);
  const stopped = pid === undefined ? false : await stopPid(pid, graceMs, first);
  rmSync(file, { force: true });
  return stopped;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true or the deadline passes; the error names what was awaited. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; alive?: () => boolean; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    if (options.alive && !options.alive()) {
      throw new Error(`${what}: the process exited before it became healthy${options.logFile ? `; see ${options.logFile}` : ''}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
  throw new Error(`${what}: not healthy after ${Math.round(options.timeoutMs / 1000)} s${options.logFile ? `; see ${options.logFile}` : ''}`);
}

// A port chosen now for a server started (or restarted) later. The OS's pick (`listen(0)`) lies in
// the kernel's ephemeral range, from which every outgoing connection takes its local port: between
// the choice and the listen, or a crash and the restart, a client socket can hold it (a restarted
// Temporal dev server once found its UI port so taken; a CI run found a test's port so taken). A
// port below that range is only ever taken by a listener that asks for it. On a host whose
// ephemeral range leaves no room below it (e.g. 1024-65535) the OS's pick is all there is.
const LOWEST_CHOSEN_PORT = 20_000;

/** Where freePort chooses: [low, high), below the kernel's ephemeral range; undefined when there is no room. */
export function chosenPortRange(): { low: number; high: number } | undefined {
  let high = 32_768; // Linux's default start of the range, where /proc cannot be read
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low)) high = low;
  } catch {
    // not Linux, or /proc not mounted: the default
  }
  return high > LOWEST_CHOSEN_PORT + 1000 ? { low: LOWEST_CHOSEN_PORT, high } : undefined;
}

/** chosenPortRange, read once: the kernel's range does not move under a running process. */
let chosenRange: { range: ReturnType<typeof chosenPortRange> } | undefined;

/** Ports this process handed out: two calls before either listens never get the same one. */
const handedOut = new Set<number>();

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}

/** A port free on 127.0.0.1 just now and not handed out before by this process: at random in chosenPortRange (else, after 100 tries, the OS's pick). */
export async function freePort(): Promise<number> {
  const range = (chosenRange ??= { range: chosenPortRange() }).range;
  for (let tries = 0; range && tries < 100; tries += 1) {
    const candidate = range.low + Math.floor(Math.random() * (range.high - range.low));
    if (handedOut.has(candidate)) continue;
    handedOut.add(candidate);
    if ((await listenOnce(candidate)) !== undefined) return candidate;
    handedOut.delete(candidate);
  }
  for (let tries = 0; tries < 100; tries += 1) {
    const picked = await listenOnce(0);
    if (picked === undefined) break;
    if (handedOut.has(picked)) continue;
    handedOut.add(picked);
    return picked;
  }
  throw new Error('no free port on 127.0.0.1');
}
