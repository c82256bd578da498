// The feed terminates a large share of the drill's people at once, after they have joined: the
// example policy's fence (`fencing` in examples/policy/lifecycle.yaml) must let through no more
// people than its thresholds allow and hold the rest in a batch, with their access intact, until
// two different operators release it the way `provisioner fence release` does (clients/fence.ts,
// as the API's POST /fence/batches/:batchId/release); the oracle then checks everyone converged.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decideFenceBatch, fenceState } from '../../clients/fence.js';
import { createKafka } from '../../kafka/client.js';
import { fenceLimit } from '../../policy/fencing.js';
import { loadPolicyOrThrow } from '../../runtime/policy-source.js';
import { projectRoot } from '../../schemas/config.js';
import type { FencedAction } from '../../schemas/policy.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { DRILL_APPS, DRILL_GROUPS } from '../drill-policy.js';
import { groupSchema, scimList, userSchema } from '../oracle.js';
import { quiesce } from '../run-drill.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';
import { shuffle } from '../seeded-random.js';
import { terminate } from '../workload.js';

const SOURCE = 'urn:hris:drill';
const OPERATORS = ['drill-operator-a', 'drill-operator-b'] as const;
const SETTLE_TIMEOUT_MS = 5 * 60_000;

type Observed = { terminated: number; held: number; lostBeforeRelease: number; heldLostAccess: number; threshold: number; batches: string[]; firstReleaseKeptOpen: boolean; released: number; reasons: string };
const observed = new WeakMap<ScenarioContext, Observed>();

/**
 * The most people the example policy's fence lets a termination burst disable: each leaver is one
 * disable per drill app and one revoke per group, counted per source and per application.
 */
export function examplePeopleThreshold(population: number): number {
  const { fencing } = loadPolicyOrThrow(path.join(projectRoot, 'examples', 'policy')).model;
  const perApp: Array<[FencedAction, number]> = [['disableAccount', 1], ['revoke', DRILL_GROUPS.length]];
  const people = perApp.flatMap(([action, steps]) => [
    Math.floor(fenceLimit(fencing, { scope: 'source', source: SOURCE }, action, population) / (steps * DRILL_APPS.length)),
    ...DRILL_APPS.map((app) => Math.floor(fenceLimit(fencing, { scope: 'application', app }, action, population) / steps)),
  ]);
  return Math.min(...people);
}

/**
 * How many of `population` people the burst terminates: `share` of them, and always more than the
 * fence lets through (its threshold and a margin), or the fence rightly never trips and the drill
 * proves nothing. Throws when the population is too small for that.
 */
export function leaversToTerminate(population: number, share: number, threshold: number): number {
  const beyond = threshold + Math.max(5, Math.ceil(threshold * 0.1));
  const count = Math.max(Math.ceil(population * share), beyond);
  if (count > population) throw new Error(`mass-termination needs at least ${beyond} joiners: the example policy's fence lets ${threshold} of ${population} people through, and the burst must exceed that (run it with --joiners ${beyond} or more)`);
  return count;
}

/** The people (of `ids`) who lost any access in any drill app: an account disabled or gone, or a group left. */
async function lostAccess(ctx: ScenarioContext, ids: readonly string[]): Promise<Set<string>> {
  const lost = new Set<string>();
  for (const app of ctx.pipeline.apps) {
    const users = await scimList(app, 'Users', userSchema);
    const groups = await scimList(app, 'Groups', groupSchema);
    for (const id of ids) {
      const account = users.find((u) => u.externalId === id);
      const inGroups = account ? groups.filter((g) => g.members?.some((m) => m.value === account.id)).map((g) => g.displayName) : [];
      if (!account || account.active === false || DRILL_GROUPS.some((g) => !inGroups.includes(g))) lost.add(id);
    }
  }
  return lost;
}

/** Until every leaver is either held by the fence or deprovisioned on their termination. */
async function settleBehindFence(ctx: ScenarioContext, leavers: readonly string[]): Promise<Set<string>> {
  const { store, client, cfg } = ctx.pipeline;
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const held = new Set((await fenceState(store, cfg.temporal.taskQueue))?.held.map((h) => h.employeeId) ?? []);
    const others = leavers.filter((id) => !held.has(id));
    const states = await Promise.all(others.map((id) => client.workflow.getHandle(identityWorkflowId(id)).query(getState).catch(() => undefined)));
    const done = states.filter((s, i) => s?.status === 'deprovisioned' && s.lastAppliedSequence === ctx.workload.ledger.get(others[i]!)!.lastSequence).length;
    if (done === others.length || Date.now() > deadline) return held;
    await sleep(2_000);
  }
}

function massTerminationInject(share: number) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { pipeline, workload, timeline } = ctx;
    await ctx.published;
    if (!(await quiesce(pipeline.client, workload.ledger, SETTLE_TIMEOUT_MS))) throw new Error('the joiners did not settle before the mass termination');
    timeline.push({ at: Date.now(), what: `every joiner provisioned (${workload.ledger.size})` });
    // A seeded share of the joiners, chosen by a shuffle, and more than the fence lets through.
    const ids = shuffle([...workload.ledger.keys()], ctx.random);
    const threshold = examplePeopleThreshold(ids.length);
    const leavers = ids.slice(0, leaversToTerminate(ids.length, share, threshold));
    const events = terminate(workload, leavers);
    const producer = createKafka(pipeline.cfg, { clientId: `${pipeline.id}-mass-termination` }).producer({ idempotent: true });
    await producer.connect();
    try {
      await producer.send({ topic: pipeline.cfg.kafka.topics.hrLifecycle, acks: -1, messages: events.map((e) => ({ key: e.key, value: e.value })) });
    } finally {
      await producer.disconnect();
    }
    timeline.push({ at: Date.now(), what: `mass termination: ${leavers.length} of ${ids.length} people terminated at once` });

    const held = await settleBehindFence(ctx, leavers);
    const lost = await lostAccess(ctx, leavers);
    const state = await fenceState(pipeline.store, pipeline.cfg.temporal.taskQueue);
    const open = (state?.batches ?? []).filter((b) => b.status === 'open');
    timeline.push({ at: Date.now(), what: `fence: ${held.size} held in ${open.length} open batch(es), ${lost.size} lost access before any release` });
    await ctx.tabletop(`the fence holds ${held.size} of ${leavers.length} terminations in ${open.length} batch(es); two operators release them when you go on`);
    const seen: Observed = {
      terminated: leavers.length,
      held: held.size,
      lostBeforeRelease: lost.size,
      heldLostAccess: [...held].filter((id) => lost.has(id)).length,
      threshold,
      batches: open.map((b) => b.batchId),
      firstReleaseKeptOpen: true,
      released: 0,
      reasons: open.flatMap((b) => b.reasons).slice(0, 3).join('; '),
    };
    observed.set(ctx, seen);
    for (const b of open) {
      for (const operator of OPERATORS) {
        const decided = await decideFenceBatch({ store: pipeline.store, client: pipeline.client }, { taskQueue: pipeline.cfg.temporal.taskQueue, kind: 'release', batchId: b.batchId, operator });
        if (operator === OPERATORS[0] && decided.batch.status !== 'open') seen.firstReleaseKeptOpen = false;
        if (decided.batch.status === 'released') seen.released += 1;
        timeline.push({ at: Date.now(), what: `${b.batchId} released by ${operator}: ${decided.batch.status}` });
      }
    }
  };
}

/** What the fence shows in the store: its batches as decided, and what the drill saw before the release. */
async function evidence(ctx: ScenarioContext): Promise<Evidence> {
  const seen = observed.get(ctx);
  const state = await fenceState(ctx.pipeline.store, ctx.pipeline.cfg.temporal.taskQueue);
  const decided = (state?.batches ?? []).filter((b) => seen?.batches.includes(b.batchId));
  return {
    terminated: seen?.terminated ?? 0,
    heldRequests: seen?.held ?? 0,
    lostAccessBeforeRelease: seen?.lostBeforeRelease ?? 0,
    heldWhoLostAccess: seen?.heldLostAccess ?? 0,
    examplePolicyThresholdPeople: seen?.threshold ?? 0,
    batches: decided.map((b) => `${b.batchId} ${b.status} by ${(b.decidedBy ?? []).join(' and ')} (${b.requests} people)`).join('; ') || 'none',
    tripped: seen?.reasons || 'nothing',
    firstReleaseKeptBatchOpen: seen?.firstReleaseKeptOpen ? 'yes' : 'no',
    heldBatches: seen?.batches.length ?? 0,
    batchesReleased: seen?.released ?? 0,
    stillHeld: state?.held.length ?? 0,
  };
}

/** The scenario, terminating `share` of the joiners at once (the registered drill: 60 %). */
export function massTerminationOf(share: number): Scenario {
  return {
    name: 'mass-termination',
    fault: `the feed terminates ${Math.round(share * 100)} % of the people at once (and always more than the fence lets through), against the example policy's fence`,
    defaults: { joiners: 60, rate: 10, leaverShare: 0 },
    pipeline: { fence: 'example' },
    // The burst is a share of the joiners (the workload has no other leavers): refused at once when too few.
    checkParameters: ({ joiners }) => void leaversToTerminate(joiners, share, examplePeopleThreshold(joiners)),
    inject: massTerminationInject(share),
    evidence,
    // A burst beyond the fence's threshold reached the pipeline: every leaver either held or disabled.
    hit: (e) => Number(e.terminated) > Number(e.examplePolicyThresholdPeople) && Number(e.heldRequests) + Number(e.lostAccessBeforeRelease) - Number(e.heldWhoLostAccess) >= Number(e.terminated),
    tabletop: [
      'The held batch and why it tripped: `npx provisioner fence list` (with the drill\'s config: PROVISIONER_CONFIG=<the drill\'s worker-0.yaml>)',
      'Dashboard "Fence: held batches" and "Fence: held changes by source"; alert ProvisionerFenceHolding (docs/runbook.md#provisionerfenceholding)',
      'Decide with HR whether the feed is right: `fence release <batch>` by two different operators, or `fence reject <batch>`',
    ],
    checks: (e) => ({
      'the fence held (held requests > 0)': Number(e.heldRequests) > 0,
      'nobody beyond the example threshold lost access before the release': Number(e.lostAccessBeforeRelease) <= Number(e.examplePolicyThresholdPeople),
      'the held kept their access until the release': Number(e.heldWhoLostAccess) === 0,
      "one operator's release left the batch open": e.firstReleaseKeptBatchOpen === 'yes',
      'two operators released every held batch, nobody still held': Number(e.heldBatches) > 0 && Number(e.batchesReleased) === Number(e.heldBatches) && Number(e.stillHeld) === 0,
    }),
  };
}

export const massTermination = massTerminationOf(0.6);
