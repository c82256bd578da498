// What the drill's worker and ingress processes logged (pino JSON lines, warn and above: they run
// at LOG_LEVEL=warn) from a moment on: how a server's fault looked from the processes that use it,
// and how the ingress's consumer group recovered from losing its coordinator.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DrillPipeline } from './drill-pipeline.js';

// A line's pino fields, and the two kafkajs lines carry (its consumer's component, the broker's error):
// those two never reject a line, whatever shape they have.
const lineSchema = z.object({
  level: z.number(),
  time: z.string(),
  msg: z.string().optional(),
  component: z.string().optional().catch(undefined),
  kafka: z.object({ error: z.string().optional().catch(undefined) }).optional().catch(undefined),
});
type LogLine = z.infer<typeof lineSchema> & { at: number };

/** The JSON lines a process logged at or after `since` (ms since the epoch), in order; anything else in its log is skipped. */
function* linesSince(pipeline: DrillPipeline, p: DrillPipeline['processes'][number], since: number): Generator<LogLine> {
  const file = path.join(pipeline.runDir, 'logs', `${p.role}-${p.index}.log`);
  if (!existsSync(file)) return;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    let parsed: z.infer<typeof lineSchema>;
    try {
      const result = lineSchema.safeParse(JSON.parse(text));
      if (!result.success) continue;
      parsed = result.data;
    } catch {
      continue;
    }
    const at = Date.parse(parsed.time);
    if (at >= since) yield { ...parsed, at };
  }
}

export type LoggedProblems = {
  /** Lines at warn or above, per role. */
  lines: { worker: number; ingress: number };
  /** The messages logged, most frequent first, each with its count (e.g. "the Kafka consumer crashed ×2"). */
  messages: string[];
};

export function loggedProblemsSince(pipeline: DrillPipeline, since: number): LoggedProblems {
  const lines = { worker: 0, ingress: 0 };
  const counts = new Map<string, number>();
  for (const p of pipeline.processes) {
    for (const line of linesSince(pipeline, p, since)) {
      if (line.level < 40) continue;
      lines[p.role] += 1;
      const msg = `${p.role}: ${(line.msg ?? '(no message)').slice(0, 80)}`;
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
  }
  const messages = [...counts].sort((a, b) => b[1] - a[1]).map(([msg, n]) => `${msg} ×${n}`);
  return { lines, messages };
}

export type CoordinatorRecovery = {
  /** Offset commits the ingress sent to a broker that no longer coordinates its group (NOT_COORDINATOR). */
  refusedCommits: number;
  /**
   * The longest wait from such a refused commit to the same consumer's next start of a re-join of
   * its group, ms (0: none refused); a consumer not re-joined yet counts its wait until `now`.
   */
  longestToRejoinMs: number;
  /** Consumers whose re-join had not begun when the logs were read. */
  pending: number;
};

/**
 * From the ingress logs since `since` (kafkajs's own lines): the commits a stale group coordinator
 * refused, and how soon each consumer re-joined the group after one (which finds the new one).
 */
export function coordinatorRecoverySince(pipeline: DrillPipeline, since: number, now = Date.now()): CoordinatorRecovery {
  let refusedCommits = 0;
  let longestToRejoinMs = 0;
  let pending = 0;
  for (const p of pipeline.processes.filter((q) => q.role === 'ingress')) {
    // Per consumer (hr-consumer, itsm-consumer: one file, two groups): one's re-join does not end the other's wait.
    const refusedAt = new Map<string, number>();
    for (const line of linesSince(pipeline, p, since)) {
      const consumer = line.component ?? '';
      const waiting = refusedAt.get(consumer);
      if (line.msg?.startsWith('Response OffsetCommit') && line.kafka?.error?.includes('not the correct coordinator')) {
        refusedCommits += 1;
        if (waiting === undefined) refusedAt.set(consumer, line.at);
      } else if (waiting !== undefined && line.msg?.includes('re-joining')) {
        longestToRejoinMs = Math.max(longestToRejoinMs, line.at - waiting);
        refusedAt.delete(consumer);
      }
    }
    // Refused and not re-joined yet when the drill read the logs (the drill may end first): waiting since.
    for (const at of refusedAt.values()) {
      pending += 1;
      longestToRejoinMs = Math.max(longestToRejoinMs, now - at);
    }
  }
  return { refusedCommits, longestToRejoinMs, pending };
}

/** The worker and ingress processes that exited on their own (a scenario's kill clears `child`), e.g. "worker 0": none should. */
export const exitedProcesses = (pipeline: DrillPipeline): string =>
  pipeline.processes.filter((p) => p.child !== undefined && p.child.exitCode !== null).map((p) => `${p.role} ${p.index} (exit ${p.child!.exitCode})`).join(', ') || 'none';
