// Ingress processes SIGKILLed repeatedly during the workload, each at a random point of it and at a
// moment its group is behind its commits (events published that the group has not committed: read
// and maybe handed over, or still to read), and restarted half a second later. The killed member's
// partitions wait until its session times out, then another member reads from the last commit:
// what the killed ingress handed to Temporal without committing is handed over again, and the
// identity workflow applies each sequence once. The evidence: the kills, how many came while the
// group was behind, the HR signals the workflows received beyond the events published (the
// redeliveries; a kill between hand-over and commit is a matter of timing, so they may be zero),
// and the group's lag at the end (everything read).
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, type Admin } from '../../kafka/client.js';
import { consumerLagWith, type PartitionLag } from '../../kafka/consumer-lag.js';
import { hrEventReceived } from '../../workflows/messages.js';
import { waitReady, type DrillProcess } from '../drill-pipeline.js';
import { forEachHistory } from '../people-histories.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

const RESTART_AFTER_MS = 500;
/** How long a kill waits for the group to be behind; it is skipped when the group stays caught up. */
const UNCOMMITTED_WAIT_MS = 10_000;
/** The group's rebalance waits for the dead member's session (30 s) and its rebalance timeout (60 s). */
const REJOIN_TIMEOUT_MS = 120_000;

/** The group's offsets on the HR topic, on an admin client kept connected (the kill polls it every 20 ms). */
const groupOffsets = async (ctx: ScenarioContext, admin: Admin): Promise<PartitionLag[]> =>
  consumerLagWith(admin, ctx.pipeline.cfg.kafka.groups.hrIngress, [ctx.pipeline.cfg.kafka.topics.hrLifecycle]).catch(() => []);

/** Runs `use` with a connected admin client of the drill's pipeline, disconnected afterwards. */
async function withAdmin<T>(ctx: ScenarioContext, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(ctx.pipeline.cfg, { clientId: `${ctx.pipeline.id}-drill-lag` }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const lagOf = (offsets: readonly PartitionLag[]): bigint => offsets.reduce((n, l) => n + l.lag, 0n);

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(20);
  }
  return false;
}

const inject = (ctx: ScenarioContext): Promise<void> => withAdmin(ctx, (admin) => killWhileBehind(ctx, admin));

async function killWhileBehind(ctx: ScenarioContext, admin: Admin): Promise<void> {
  const ingresses = ctx.pipeline.processes.filter((p) => p.role === 'ingress');
  const strikes = ctx.options.kills ?? 5;
  const interval = Math.max(1_000, ctx.expectedMs / strikes);
  const restarting = new Map<DrillProcess, Promise<void>>();
  for (let n = 0; n < strikes; n += 1) {
    // A random point within each interval of the workload, then the moment the group is behind.
    await sleep(interval * (0.5 + ctx.random() * 0.5));
    let lag = 0n;
    const behind = await until(async () => (lag = lagOf(await groupOffsets(ctx, admin))) > 0n, UNCOMMITTED_WAIT_MS);
    if (!behind) {
      // The group has committed everything published: a kill now tests nothing this drill is about.
      ctx.timeline.push({ at: Date.now(), what: 'no SIGKILL: the group had committed everything published' });
      continue;
    }
    // An ingress back in the group (a restarted one rejoins only when the dead member's session ends).
    if (restarting.size === ingresses.length) await Promise.race(restarting.values());
    const up = ingresses.filter((p) => !restarting.has(p));
    const victim = up[Math.floor(ctx.random() * up.length)]!;
    await ctx.pipeline.kill(victim);
    ctx.timeline.push({ at: Date.now(), what: `SIGKILL ingress ${victim.index} (group ${lag} events behind its commits)` });
    if (ingresses.reduce((k, p) => k + p.kills.length, 0) === 1) await ctx.tabletop(`ingress ${victim.index} was SIGKILLed with its group ${lag} events behind its commits`);
    await sleep(RESTART_AFTER_MS);
    ctx.pipeline.start(victim);
    const ready = waitReady(victim, REJOIN_TIMEOUT_MS).then(() => {
      ctx.timeline.push({ at: Date.now(), what: `ingress ${victim.index} ready again` });
      restarting.delete(victim);
    });
    restarting.set(victim, ready);
  }
  await Promise.all(restarting.values());
}

/** The HR signals each person's workflow received, against the events published to them. */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  let signals = 0;
  let redeliveredPeople = 0;
  await forEachHistory(ctx, people, (id, events) => {
    const received = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === hrEventReceived.name).length;
    signals += received;
    if (received > (ctx.ledger.get(id)?.eventIds.length ?? 0)) redeliveredPeople += 1;
  });
  const published = people.reduce((n, id) => n + (ctx.ledger.get(id)?.eventIds.length ?? 0), 0);
  const lagAtEnd = await withAdmin(ctx, async (admin) => lagOf(await groupOffsets(ctx, admin))).catch(() => 0n);
  const kills = ctx.pipeline.processes.reduce((n, p) => n + p.kills.length, 0);
  const killsBehind = ctx.timeline.filter((t) => /^SIGKILL ingress \d+ \(group [1-9]\d* events behind/.test(t.what)).length;
  return { kills, killsBehind, eventsPublished: published, signalsReceived: signals, redeliveredSignals: signals - published, redeliveredPeople, groupLagAtEnd: String(lagAtEnd) };
}

export const ingressKill: Scenario = {
  name: 'ingress-kill',
  fault: 'ingress processes SIGKILLed `--kills` times (default 5) while their group is behind its commits, each restarted half a second later',
  // At 3/s the group is behind often enough for each kill (at 10/s it caught up and kills were skipped).
  defaults: { joiners: 60, rate: 3, leaverShare: 0.05 },
  inject,
  tabletop: [
    'Dashboard "Consumer lag by topic": the drill\'s HR topic lags until the group rebalances onto the live ingress (alert ProvisionerConsumerLagHigh, docs/runbook.md#provisionerconsumerlaghigh)',
    'The group\'s members and offsets: `kafka-consumer-groups.sh --describe --group <the drill\'s ingress group>` (the group is in the drill\'s worker-0.yaml)',
    'Nothing to do by hand: the offsets were committed only after Temporal had each event, so the restarted or surviving ingress reads from the last commit; a redelivered event is applied once (sequence)',
  ],
  evidence,
  // Every kill came while the group held events it had not committed, and the group read
  // everything in the end (the redeliveries are reported, not required).
  hit: (e) => Number(e.kills) > 0 && e.killsBehind === e.kills && e.groupLagAtEnd === '0',
};
