// Worker processes SIGKILLed repeatedly during the workload (no drain: in-flight workflow and
// activity tasks are lost as a crash loses them), each restarted half a second later. Temporal
// re-dispatches what the dead worker held once its timeouts pass, the steps' idempotency keys make
// the retried connector calls land once, and the oracle checks nobody got a second account.
import { setTimeout as sleep } from 'node:timers/promises';
import { waitReady } from '../drill-pipeline.js';
import { forEachHistory } from '../people-histories.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

const RESTART_AFTER_MS = 500;

async function inject(ctx: ScenarioContext): Promise<void> {
  const workers = ctx.pipeline.processes.filter((p) => p.role === 'worker');
  const kills = ctx.options.kills ?? 20;
  const interval = Math.max(1_000, ctx.expectedMs / kills);
  let done = false;
  void ctx.published.then(() => (done = true));
  for (let n = 0; n < kills; n += 1) {
    // A random point within each interval.
    await sleep(interval * (0.5 + ctx.random() * 0.5));
    const victim = workers[Math.floor(ctx.random() * workers.length)]!;
    await ctx.pipeline.kill(victim);
    ctx.timeline.push({ at: Date.now(), what: `SIGKILL worker ${victim.index}` });
    if (n === 0) await ctx.tabletop(`worker ${victim.index} was SIGKILLed (the first of ${kills} kills; it restarts when you go on)`);
    await sleep(RESTART_AFTER_MS);
    ctx.pipeline.start(victim);
    await waitReady(victim);
    ctx.timeline.push({ at: Date.now(), what: `worker ${victim.index} ready again` });
    if (done && n >= kills - 1) break;
  }
}

/** From the people's histories: workflow tasks that timed out or failed, and activity attempts past the first. */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  let workflowTaskTimeouts = 0;
  let retriedActivities = 0;
  let activityTimeouts = 0;
  await forEachHistory(ctx, people, (_id, events) => {
    for (const e of events) {
      if (e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes) workflowTaskTimeouts += 1;
      if (e.activityTaskTimedOutEventAttributes) activityTimeouts += 1;
      if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedActivities += 1;
    }
  });
  const kills = ctx.pipeline.processes.reduce((n, p) => n + p.kills.length, 0);
  return { kills, workflowTaskTimeouts, activityTimeouts, retriedActivities };
}

export const workerKill: Scenario = {
  name: 'worker-kill',
  fault: 'worker processes SIGKILLed repeatedly during the workload, each restarted half a second later',
  defaults: { joiners: 200, rate: 10, leaverShare: 0.05 },
  // Beside another drill on 2 cores its quiescence took 492 s (180 s alone), and the other drill's missed its deadline.
  runsAlone: 'its kills and restarts load the machine: a drill beside it is slowed past its deadlines',
  inject,
  evidence,
  // The kills happened, and Temporal saw work the killed workers held time out or retried.
  tabletop: [
    'Temporal UI, the task queue\'s pollers: one worker fewer until it restarts',
    'Dashboard "Workflow and activity schedule-to-start p99" rises; "Pollers and sticky cache" drops; alert TemporalNoPollers if every worker is gone (docs/runbook.md#temporalnopollers)',
    'A running person\'s history: the workflow task the dead worker held times out (WorkflowTaskTimedOut) and another worker takes it',
    'Nothing to do by hand: Temporal re-dispatches what the dead worker held; the steps\' idempotency keys make each retried call land once',
  ],
  hit: (e) => Number(e.kills) > 0 && Number(e.workflowTaskTimeouts) + Number(e.activityTimeouts) + Number(e.retriedActivities) > 0,
};
