// Both drill SCIM applications commit a share of the writes they get (5 % in the registered drill)
// and then drop the connection without an answer, for the whole workload: the connector sees a
// network error and Temporal retries the step, which must land once. The connector's idempotency
// absorbs it (ensure reads by externalId before it creates, and a 409 on create reads again; a
// grant reads the memberships first, a revoke's noTarget is already-in-state), and the oracle
// counts a second create for one person as a duplicate, from the apps' write logs.
import { emptyTally, readFaults, setFaults } from '../app-faults.js';
import { retriedActivities } from '../people-histories.js';
import { quiesce } from '../run-drill.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';
import type { Behaviour } from '../../targets/profiles.js';

export type DropOptions = {
  /** The share of writes dropped after commit. */
  rate: number;
  /** How long the drops stay on after the workload was published, at most, for the pipeline to settle under them. */
  settleTimeoutMs?: number;
  /** The drill apps behave as some real SCIM servers do (targets/profiles.ts). */
  appBehaviour?: Partial<Behaviour>;
};

function dropInject({ rate, settleTimeoutMs = 5 * 60_000 }: DropOptions) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { apps } = ctx.pipeline;
    for (const app of apps) await setFaults(app, { dropAfterCommitRate: rate }, emptyTally());
    ctx.timeline.push({ at: Date.now(), what: `${apps.map((a) => a.name).join(' and ')}: ${Math.round(rate * 100)} % of writes committed, then the connection dropped` });
    await ctx.published;
    const settled = await quiesce(ctx.pipeline.client, ctx.workload.ledger, settleTimeoutMs);
    const dropped = (await Promise.all(apps.map(readFaults))).reduce((n, v) => n + v.injected.dropped, 0);
    // The counters stay as they are until the evidence reads them: clearing would restart them.
    ctx.timeline.push({ at: Date.now(), what: `${settled ? 'every person settled' : 'not settled'} with the drops on: ${dropped} writes dropped after commit` });
  };
}

/** From the apps: the writes dropped after commit; from the histories: the activities retried. */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const views = await Promise.all(ctx.pipeline.apps.map(async (a) => [a.name, await readFaults(a)] as const));
  const retried = await retriedActivities(ctx, people);
  return {
    droppedAfterCommit: views.reduce((n, [, v]) => n + v.injected.dropped, 0),
    ...Object.fromEntries(views.map(([name, v]) => [`dropped:${name}`, v.injected.dropped])),
    ...retried,
  };
}

export function scimDropOf(options: DropOptions): Scenario {
  const { rate, appBehaviour } = options;
  return {
    name: 'scim-drop',
    fault: `both drill SCIM apps commit ${Math.round(rate * 100)} % of their writes and then drop the connection without an answer, for the whole workload`,
    defaults: { joiners: 60, rate: 10, leaverShare: 0.05 },
    ...(appBehaviour ? { pipeline: { appBehaviour } } : {}),
    inject: dropInject(options),
    evidence,
    // Writes were dropped after commit and the pipeline retried.
    hit: (e) => Number(e.droppedAfterCommit) > 0 && Number(e.retriedActivities) > 0,
  };
}

export const scimDrop = scimDropOf({ rate: 0.05 });
