// Where a leaver's time goes, read from its identity workflow's history (server timestamps) and
// the app's write log: from the termination's scheduled time to its disable write.
//
//   ingress        scheduled time → the hrEventReceived signal in history (Kafka, the consumer, signalWithStart)
//   wftQueue       Σ workflow task scheduled → started (the base or sticky queue, behind other workflows' tasks)
//   wftRun         Σ workflow task started → completed (the worker's workflow thread)
//   baseQueue      Σ activity scheduled → started before the disable wave (planChange, readAccount, requestFencePermit, ...)
//   baseRun        Σ those activities' started → completed
//   disableQueue   the disable steps' scheduled → started (the app task queues; the latest across apps)
//   disableToWrite disable started → the app's write (the latest across apps)
// Only what happened between the signal and the disable steps' start is counted; the rest (event
// hand-offs inside the server) is `other`. Activity started events carry the attempt's start time.
import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common';
import { STEP_ACTIVITY_TYPES } from '../../workflows/connector-activities.js';
import { Histogram } from './histogram.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const BREAKDOWN_PARTS = ['ingress', 'wftQueue', 'wftRun', 'baseQueue', 'baseRun', 'disableQueue', 'disableToWrite', 'other'] as const;
export type BreakdownPart = (typeof BREAKDOWN_PARTS)[number];
export type LeaverBreakdown = Record<BreakdownPart, number> & {
  total: number;
  disableTaskQueues: string[];
  /** Base-queue activities by type: queue and run time (ms). */
  baseActivities: Record<string, { queue: number; run: number }>;
};

/** A step's connector activity: its verb's (older histories: `applyStep`). */
const STEP_ACTIVITIES: readonly string[] = [...STEP_ACTIVITY_TYPES, 'applyStep'];
const isStep = (e: HistoryEvent) => STEP_ACTIVITIES.includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');

/**
 * One leaver's breakdown. `scheduledAt` and `writeAt` are on the bench's clock (preciseNow);
 * `clockOffsetMs` (Date.now() − preciseNow()) maps them to the server's wall clock.
 */
export function leaverBreakdown(events: HistoryEvent[], scheduledAt: number, writeAt: number, clockOffsetMs: number): LeaverBreakdown | undefined {
  const at = (e: HistoryEvent) => tsToMs(e.eventTime);
  const scheduledWall = scheduledAt + clockOffsetMs;
  const writeWall = writeAt + clockOffsetMs;
  const startIdx = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'hrEventReceived' && at(e) >= scheduledWall - 5);
  if (startIdx < 0) return undefined;
  const signalAt = at(events[startIdx]!);
  const after = events.slice(startIdx + 1);
  // The disable wave: the connector activities of the first workflow task after the signal that schedules any.
  const firstConnector = after.find(isStep);
  if (!firstConnector) return undefined;
  const waveTask = Number(firstConnector.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId);
  const wave = after.filter((e) => isStep(e) && Number(e.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId) === waveTask);
  const started = new Map<number, HistoryEvent>();
  const completed = new Map<number, HistoryEvent>();
  for (const e of after) {
    const s = e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.workflowTaskStartedEventAttributes?.scheduledEventId;
    if (s !== undefined && s !== null) started.set(Number(s), e);
    const c = e.activityTaskCompletedEventAttributes?.scheduledEventId ?? e.activityTaskFailedEventAttributes?.scheduledEventId;
    if (c !== undefined && c !== null) completed.set(Number(c), e);
    const w = e.workflowTaskCompletedEventAttributes?.scheduledEventId;
    if (w !== undefined && w !== null) completed.set(Number(w), e);
  }
  const waveStarts = wave.map((e) => started.get(Number(e.eventId))).filter((e): e is HistoryEvent => e !== undefined);
  if (waveStarts.length < wave.length) return undefined;
  const waveStartedAt = Math.max(...waveStarts.map(at));
  const disableQueue = Math.max(...wave.map((e) => at(started.get(Number(e.eventId))!) - at(e)));
  const until = Number(firstConnector.eventId);

  let wftQueue = 0;
  let wftRun = 0;
  let baseQueue = 0;
  let baseRun = 0;
  const baseActivities: Record<string, { queue: number; run: number }> = {};
  for (const e of after) {
    if (Number(e.eventId) >= until) break;
    const id = Number(e.eventId);
    const s = started.get(id);
    const c = completed.get(id);
    if (e.workflowTaskScheduledEventAttributes && s) {
      wftQueue += at(s) - at(e);
      if (c) wftRun += at(c) - at(s);
    } else if (e.activityTaskScheduledEventAttributes && s) {
      const queue = at(s) - at(e);
      const run = c ? at(c) - at(s) : 0;
      baseQueue += queue;
      baseRun += run;
      const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      const seen = baseActivities[type] ?? { queue: 0, run: 0 };
      baseActivities[type] = { queue: seen.queue + queue, run: seen.run + run };
    }
  }
  // The workflow task whose completion scheduled the wave is counted too: its events come before `until`.
  const ingress = signalAt - scheduledWall;
  const disableToWrite = writeWall - waveStartedAt;
  const total = writeWall - scheduledWall;
  const other = total - ingress - wftQueue - wftRun - baseQueue - baseRun - disableQueue - disableToWrite;
  return {
    ingress,
    wftQueue,
    wftRun,
    baseQueue,
    baseRun,
    disableQueue,
    disableToWrite,
    other,
    total,
    disableTaskQueues: [...new Set(wave.map((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name ?? '?'))],
    baseActivities,
  };
}

type Stat = { p50: number; p99: number; max: number; mean: number };

function stat(values: number[]): Stat {
  const h = new Histogram();
  for (const v of values) h.record(Math.max(0, v));
  const s = h.summary();
  return { p50: s.p50, p99: s.p99, max: s.max, mean: s.mean };
}

/** p50/p99/max of each part over the leavers, in ms (p99 of fewer than 100 is the maximum). */
export function summarizeBreakdowns(all: LeaverBreakdown[]): Record<BreakdownPart | 'total', Stat> & {
  leavers: number;
  disableTaskQueues: string[];
  baseActivities: Record<string, { queue: Stat; run: Stat }>;
} {
  const parts = [...BREAKDOWN_PARTS, 'total'] as const;
  const out = Object.fromEntries(parts.map((p) => [p, stat(all.map((b) => b[p]))])) as Record<BreakdownPart | 'total', Stat>;
  const types = [...new Set(all.flatMap((b) => Object.keys(b.baseActivities)))].sort();
  const baseActivities = Object.fromEntries(
    types.map((t) => [t, { queue: stat(all.map((b) => b.baseActivities[t]?.queue ?? 0)), run: stat(all.map((b) => b.baseActivities[t]?.run ?? 0)) }]),
  );
  return { ...out, leavers: all.length, disableTaskQueues: [...new Set(all.flatMap((b) => b.disableTaskQueues))].sort(), baseActivities };
}
