// A saga rollback with the worker killed during the undo. A seeded share of the workload's first
// half is doomed: `drill-code` refuses for good (400 invalidValue, never retried) to add them to its
// group `tools`, after their accounts in both apps were created and their first grants made, so each
// doomed joiner's change fails and its saga undoes what it did, in reverse: the revokes, then the
// deletes of both accounts. Deletes are slow (every app's DELETE latency), and once every doomed
// joiner was refused the worker processes are SIGKILLed while their sagas still undo (their
// workflows still provisioning; each worker restarted half a second later). Temporal retries the
// undo activities the dead worker held; a delete that already landed reads 404 (already-in-state).
// The ledger expects the doomed people rolled back (`expect: 'rolled-back'`): their workflow
// `failed` on their hire and no account left in either app (drills/oracle.ts); everyone else
// provisioned as usual. The evidence, from the doomed people's histories: undo activities (their
// revokes and deletes) in flight when a kill landed, retried undo attempts, and the undo records in
// the audit trail; the scenario's check: every rolled-back person's deletes are audited.
// The broken variant (`loseUserDeletes`): the apps answer the undo's DELETE 204 and keep the user;
// the saga believes them, and the oracle counts the half-provisioned people.
import { setTimeout as sleep } from 'node:timers/promises';
import { queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { emptyTally, readFaults, setFaults } from '../app-faults.js';
import { waitReady, type DrillApp } from '../drill-pipeline.js';
import { DRILL_APPS } from '../drill-policy.js';
import { forEachHistory, type HistoryEvent } from '../people-histories.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';
import { shuffle } from '../seeded-random.js';

export type UndoKillOptions = {
  /** The share of joiners whose change is refused for good (at least one). */
  doomedShare: number;
  /** The app's DELETE latency: how long each undo's delete takes. */
  deleteLatencyMs: number;
  /** The broken variant: the app answers user DELETEs 204 and deletes nothing. */
  loseUserDeletes?: boolean;
};

const RESTART_AFTER_MS = 500;
/** The app and group that refuse, and the undo activities' types (a joiner's plan never revokes or deletes). */
const REFUSING = { app: 'drill-code', group: 'tools' } as const;
const UNDO_TYPES = new Set(['revoke', 'deleteAccount']);

const seen = new WeakMap<ScenarioContext, { doomed: string[]; app: DrillApp }>();

/** Before the first event: the doomed joiners (refused by drill-code) and every app's slow (or lost) DELETEs. */
function undoKillArm(o: UndoKillOptions) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const app = ctx.pipeline.apps.find((a) => a.name === REFUSING.app)!;
    // Joiners of the workload's first half whose only event is their hire: the kills, once they were
    // all refused, also hit the second half's work.
    const joiners = [...ctx.workload.ledger.values()];
    const candidates = joiners.slice(0, Math.ceil(joiners.length / 2)).filter((e) => e.status === 'active' && e.lastSequence === 1);
    const doomed = shuffle(candidates, ctx.random).slice(0, Math.max(1, Math.round(o.doomedShare * ctx.workload.ledger.size))).map((e) => e.employeeId);
    for (const id of doomed) ctx.workload.ledger.set(id, { ...ctx.workload.ledger.get(id)!, expect: 'rolled-back' });
    seen.set(ctx, { doomed, app });
    await setFaults(app, { refuseMembers: { group: REFUSING.group, externalIds: doomed }, deleteLatencyMs: o.deleteLatencyMs, ...(o.loseUserDeletes ? { loseUserDeletes: true } : {}) }, emptyTally());
    for (const other of ctx.pipeline.apps.filter((a) => a !== app)) await setFaults(other, { deleteLatencyMs: o.deleteLatencyMs, ...(o.loseUserDeletes ? { loseUserDeletes: true } : {}) }, emptyTally());
    ctx.timeline.push({ at: Date.now(), what: `${app.name} refuses (400) to add ${doomed.length} joiners to ${REFUSING.group}; every app's DELETE takes ${o.deleteLatencyMs / 1000} s${o.loseUserDeletes ? '; user DELETEs answered 204 and lost' : ''}` });
  };
}

function undoKillInject() {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { doomed, app } = seen.get(ctx)!;
    const workers = ctx.pipeline.processes.filter((p) => p.role === 'worker');
    const kills = ctx.options.kills ?? 3;
    let published = false;
    void ctx.published.then(() => (published = true));
    // A kill lands while a doomed joiner's saga undoes (their workflow still provisioning after the
    // refusal), and only once every doomed joiner was refused: a kill between a doomed joiner's
    // create and its report makes the retried create say `unchanged`, and the saga forgets that
    // account's undo (the half-provisioned person this drill exists to find; see the README).
    const deadline = Date.now() + ctx.expectedMs + 180_000;
    for (let n = 0; n < kills && Date.now() < deadline; ) {
      await sleep(250);
      if ((await readFaults(app)).injected.refused < doomed.length) continue;
      const states = await Promise.all(doomed.map((id) => ctx.pipeline.client.workflow.getHandle(identityWorkflowId(id)).query(getState).catch(() => undefined)));
      const undoing = states.filter((s) => s?.status === 'provisioning').length;
      if (undoing === 0) {
        if (published && states.every((s) => s?.status === 'failed')) break;
        continue;
      }
      await sleep(ctx.random() * 1_000);
      const victim = workers[Math.floor(ctx.random() * workers.length)]!;
      await ctx.pipeline.kill(victim);
      n += 1;
      ctx.timeline.push({ at: Date.now(), what: `SIGKILL worker ${victim.index} (${undoing} refused joiners' sagas undoing)` });
      if (n === 1) await ctx.tabletop(`worker ${victim.index} was SIGKILLed while refused joiners' sagas undo their changes (it restarts when you go on)`);
      await sleep(RESTART_AFTER_MS);
      ctx.pipeline.start(victim);
      await waitReady(victim);
      ctx.timeline.push({ at: Date.now(), what: `worker ${victim.index} ready again` });
    }
    await ctx.published;
  };
}

/** Each undo activity of a history: when it was scheduled and closed, and its last attempt. */
function undoActivities(events: readonly HistoryEvent[]): Array<{ from: number; to: number; attempt: number; type: string }> {
  const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const out = new Map<string, { from: number; to: number; attempt: number; type: string }>();
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type && UNDO_TYPES.has(type)) out.set(String(e.eventId), { from: ms(e), to: Number.POSITIVE_INFINITY, attempt: 1, type });
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const a = out.get(String(started.scheduledEventId));
      if (a) a.attempt = started.attempt ?? 1;
    }
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const a = out.get(String(closed.scheduledEventId));
      if (a) a.to = ms(e);
    }
  }
  return [...out.values()];
}

/**
 * From the doomed people's histories: their undo activities, those in flight when a kill landed,
 * and retried ones; from the audit trail: the undo records; from the workflows: who is failed.
 */
async function evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence> {
  const run = seen.get(ctx);
  if (!run) return { doomed: 0 };
  const kills = ctx.pipeline.processes.flatMap((p) => p.kills).sort((a, b) => a - b);
  const doomed = new Set(run.doomed);
  const undos: Array<{ from: number; to: number; attempt: number; type: string }> = [];
  let workflowTaskTimeouts = 0;
  await forEachHistory(ctx, people, (id, events) => {
    workflowTaskTimeouts += events.filter((e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes).length;
    if (doomed.has(id)) undos.push(...undoActivities(events));
  });
  const killsDuringUndo = kills.filter((k) => undos.some((u) => u.from <= k && k <= u.to));
  for (const k of killsDuringUndo) ctx.timeline.push({ at: k, what: `the kill landed with ${undos.filter((u) => u.from <= k && k <= u.to).length} undo activities in flight` });
  // The undo records: completed deletes and revokes of the doomed people's accounts, per app.
  const { pool, keys } = ctx.pipeline.store;
  const deleted = new Set<string>();
  let undoRecords = 0;
  for (const app of DRILL_APPS) {
    for (const row of await queryAudit(pool, keys.kek, { action: 'step.completed', app, limit: 100_000 })) {
      if (!row.subjectEmployeeId || !doomed.has(row.subjectEmployeeId)) continue;
      for (const c of row.changes) {
        if (c.app !== app || (c.op !== 'deleteAccount' && c.op !== 'revoke')) continue;
        undoRecords += 1;
        if (c.op === 'deleteAccount') deleted.add(`${app}|${row.subjectEmployeeId}`);
      }
    }
  }
  const undoAudited = run.doomed.filter((id) => DRILL_APPS.every((app) => deleted.has(`${app}|${id}`))).length;
  const states = await Promise.all(run.doomed.map((id) => ctx.pipeline.client.workflow.getHandle(identityWorkflowId(id)).query(getState).catch(() => undefined)));
  const view = await readFaults(run.app);
  return {
    doomed: run.doomed.length,
    refused: view.injected.refused,
    rolledBack: states.filter((s) => s?.status === 'failed').length,
    kills: kills.length,
    killsDuringUndo: killsDuringUndo.length,
    undoActivities: undos.length,
    undosInFlightAtKills: kills.reduce((n, k) => n + undos.filter((u) => u.from <= k && k <= u.to).length, 0),
    retriedUndos: undos.filter((u) => u.attempt > 1).length,
    workflowTaskTimeouts,
    undoRecords,
    undoAudited,
    deletesLost: (await Promise.all(ctx.pipeline.apps.map(readFaults))).reduce((n, v) => n + v.injected.lost, 0),
  };
}

const CHECK = 'every rolled-back person\'s account deletes are audited in both apps';

export function sagaUndoKillOf(o: UndoKillOptions): Scenario {
  return {
    name: 'saga-undo-kill',
    fault: `${REFUSING.app} refuses for good to add ${Math.round(o.doomedShare * 100)} % of the joiners to ${REFUSING.group}, their sagas undo their changes (deletes take ${o.deleteLatencyMs / 1000} s), and the worker processes are SIGKILLed while the undos run${o.loseUserDeletes ? '; the apps lose user DELETEs (answered 204, nothing deleted)' : ''}`,
    // No leavers: a doomed joiner's change is their last.
    defaults: { joiners: 30, rate: 2, leaverShare: 0 },
    arm: undoKillArm(o),
    inject: undoKillInject(),
    evidence,
    // Refusals made sagas undo, and a kill landed while an undo activity was in flight.
    hit: (e) => Number(e.refused) > 0 && Number(e.killsDuringUndo) > 0,
    checks: (e) => ({ [CHECK]: Number(e.doomed) > 0 && e.undoAudited === e.doomed }),
    tabletop: [
      'Dashboard "Failures by application" and "Connector errors by class": drill-code\'s InvalidRequestError (400) on grant tools, never retried (docs/runbook.md#provisionerstepfailureshigh)',
      '`npx provisioner status <employeeId>` of a refused joiner: failed, with the reason "... what the change did was undone" once the saga finished',
      'Temporal UI, the person\'s history: the failed grant, then the undo activities (revoke, deleteAccount "(undo)"); the one the dead worker held times out after 20 s and is retried',
      'Dashboard "Pollers and sticky cache" drops until the worker restarts; alert TemporalNoPollers if every worker is gone (docs/runbook.md#temporalnopollers)',
      'Nothing to do by hand: the compensation runs in a non-cancellable scope and its undo steps are idempotent; `npx provisioner retry <employeeId>` once the application accepts the membership',
    ],
  };
}

/** The registered drill: a fifth of the joiners refused, deletes taking 3 s, three kills. */
export const sagaUndoKill = sagaUndoKillOf({ doomedShare: 0.2, deleteLatencyMs: 3_000 });
