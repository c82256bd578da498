// The demo's machinery: numbered steps that each end within a deadline or fail with one line
// naming the step and its log; a watch on the processes the demo started (a crash fails the step
// at once instead of at its deadline); and the demo's own reads of the apps, each with a fresh
// deadline and retried while an app answers slowly (a first run on a cold machine).
import type { CallContext } from '../../connectors/contract.js';
import { withRetries } from '../../connectors/retry.js';
import type { DevProcessWatch } from '../dev-process.js';
import { CommandFailure, kafkaReason, oneLine } from '../failure.js';

export const DEMO_STEPS = 8;

export type StepOptions = {
  /** The step in a few words, for the line that reports its failure (the title can be long). */
  name: string;
  /** The step fails if it has not ended by then. */
  deadlineMs: number;
  /** Where to look when it fails. */
  log: string;
  /** Rejects when a process the step depends on has died. */
  watch?: ProcessWatch;
};

const reasonOf = (err: unknown) => kafkaReason(err) ?? oneLine(err instanceof Error ? err.message : String(err));

/** Runs step `n`; any failure, or the deadline, becomes one line: the step, the reason, the log. */
export async function step<T>(n: number, title: string, options: StepOptions, say: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  say(`demo: ${n}/${DEMO_STEPS} ${title}`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${Math.round(options.deadlineMs / 1000)} s`)), options.deadlineMs);
  });
  try {
    return await Promise.race([fn(), deadline, ...(options.watch ? [options.watch.died] : [])]);
  } catch (err) {
    const reason = reasonOf(err);
    const log = /\.log\b/.test(reason) ? '' : `; see ${options.log}`;
    throw new CommandFailure(`demo: step ${n}/${DEMO_STEPS} (${options.name}) failed: ${reason}${log}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

export type WatchedProcess = { name: string; alive: () => boolean; logFile: string };

export type ProcessWatch = { died: Promise<never>; stop(): void };

/**
 * Polls the demo's processes every second: `died` rejects, naming the process and its log, when
 * one is gone or `provisioner dev`'s supervisor has reported an exit.
 */
export function watchProcesses(processes: readonly WatchedProcess[], dev: DevProcessWatch | undefined, intervalMs = 1000): ProcessWatch {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const exited = dev?.exited();
      if (exited) return reject(new Error(`${exited}; see ${dev!.logFile}`));
      const gone = processes.find((p) => !p.alive());
      if (gone) reject(new Error(`${gone.name} is no longer running; see ${gone.logFile}`));
    }, intervalMs);
    timer.unref();
  });
  died.catch(() => undefined); // observed through step(); never an unhandled rejection
  return { died, stop: () => clearInterval(timer) };
}

/** A call context for one of the demo's reads, with its own deadline from now (never one made at start-up). */
export function readCall(timeoutMs = 30_000): CallContext {
  return { idempotencyKey: 'demo-read', correlationId: 'demo', signal: AbortSignal.timeout(timeoutMs) };
}

/** A read of an app, retried (fresh deadline each attempt) while it fails with a retryable error such as a timeout. */
export function read<T>(fn: (call: CallContext) => Promise<T>, options: { maxAttempts?: number; initialDelayMs?: number } = {}): Promise<T> {
  return withRetries(() => fn(readCall()), { maxAttempts: options.maxAttempts ?? 5, initialDelayMs: options.initialDelayMs ?? 500 });
}
