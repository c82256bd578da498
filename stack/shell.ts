// Running installer and helper commands with their output streamed line by line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Prints a line of progress for the person running the command. */
export type Reporter = (line: string) => void;

export class MissingPrerequisiteError extends Error {
  override readonly name = 'MissingPrerequisiteError';
}

/** The absolute path of a command on PATH, if any. */
export function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const out = found.stdout.trim();
  return found.status === 0 && out ? out : undefined;
}

/** A command that must be on PATH; stops with a message that says what to install. */
export function requireCommand(command: string, install: string): string {
  const found = which(command);
  if (!found) throw new MissingPrerequisiteError(`\`${command}\` is not installed: install ${install}`);
  return found;
}

/** Children that `run` started and that have not ended: stopped if this process exits first. */
const running = new Set<ChildProcess>();
let stopOnExit = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (stopOnExit) return;
  stopOnExit = true;
  // A failed or interrupted command must not leave an installer or a build running behind it.
  process.once('exit', () => {
    for (const c of running) c.kill('SIGTERM');
  });
}

/**
 * Runs a command to completion. When it fails, its whole output goes to `logFile` (default: a file
 * in the temporary folder) and the error is one line: the command, its status, its last line of
 * output and the log file.
 */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void; logFile?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    let partial = '';
    const onData = (chunk: Buffer, sink: 'out' | 'err') => {
      const text = chunk.toString();
      if (sink === 'out') stdout += text;
      else stderr += text;
      if (!options.onLine) return;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', (c: Buffer) => onData(c, 'out'));
    child.stderr.on('data', (c: Buffer) => onData(c, 'err'));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (partial && options.onLine) options.onLine(partial);
      if (code === 0) return resolve({ stdout, stderr });
      const logFile = options.logFile ?? path.join(tmpdir(), `provisioner-${path.basename(command)}-${process.pid}-${Date.now()}.log`);
      const lastLine = (text: string) => text.trim().split('\n').pop()?.trim();
      try {
        mkdirSync(path.dirname(logFile), { recursive: true });
        writeFileSync(logFile, `$ ${command} ${args.join(' ')}\n${stdout}\n${stderr}\n`);
      } catch {
        /* the one line still says what failed */
      }
      const last = lastLine(stderr) || lastLine(stdout);
      const shown = [path.basename(command), ...args].join(' ');
      reject(new Error(`${shown.length > 100 ? `${shown.slice(0, 100)}...` : shown} ${code === null ? `was killed (${signal})` : `exited with ${code}`}${last ? `: ${last}` : ''}; output in ${logFile}`));
    });
  });
}
