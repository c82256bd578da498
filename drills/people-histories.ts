// Each drill person's identity workflow history, read eight at a time: where a scenario's evidence
// looks for what the fault did (timed-out tasks, retried activities, signals received twice).
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import { identityWorkflowId } from '../workflows/messages.js';
import type { ScenarioContext } from './scenario.js';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Calls `each` with every person's history events (none when the workflow cannot be read). */
export async function forEachHistory(ctx: ScenarioContext, people: readonly string[], each: (employeeId: string, events: readonly HistoryEvent[]) => void): Promise<void> {
  for (let i = 0; i < people.length; i += 8) {
    await Promise.all(
      people.slice(i, i + 8).map(async (id) => {
        const history = await ctx.pipeline.client.workflow.getHandle(identityWorkflowId(id)).fetchHistory().catch(() => undefined);
        each(id, history?.events ?? []);
      }),
    );
  }
}

/** Activity attempts past the first in the people's histories, and how many people had any. */
export async function retriedActivities(ctx: ScenarioContext, people: readonly string[]): Promise<{ retriedActivities: number; peopleRetried: number }> {
  let retried = 0;
  let peopleRetried = 0;
  await forEachHistory(ctx, people, (_id, events) => {
    const n = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
    retried += n;
    if (n > 0) peopleRetried += 1;
  });
  return { retriedActivities: retried, peopleRetried };
}

/**
 * The same, for the activities scheduled on one task queue family (an application's own queues,
 * workflows/task-queues.ts: `<queue>-app-<app>` and what hangs off it) that started at or after `since`.
 */
export async function retriedActivitiesOn(ctx: ScenarioContext, people: readonly string[], queuePrefix: string, since: number): Promise<{ retriedActivities: number; peopleRetried: number }> {
  let retried = 0;
  let peopleRetried = 0;
  await forEachHistory(ctx, people, (_id, events) => {
    const queueOf = new Map(events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '']] : [])));
    const n = events.filter((e) => {
      const started = e.activityTaskStartedEventAttributes;
      if (!started || (started.attempt ?? 1) <= 1 || (optionalTsToMs(e.eventTime) ?? 0) < since) return false;
      return queueOf.get(String(started.scheduledEventId))?.startsWith(queuePrefix) ?? false;
    }).length;
    retried += n;
    if (n > 0) peopleRetried += 1;
  });
  return { retriedActivities: retried, peopleRetried };
}
