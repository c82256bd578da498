// The demo's HR-changes scene: real HRIS feeds change people, date hires ahead and set a last day.
// A mover's new family name and title reach the apps as updates (nothing else moves); a hire
// starting in ten days exists disabled in chat (its prehire window) and waits for the rest; a
// leaver whose last day is twenty seconds away keeps access until then and is disabled at its time.
// Each event's sequence follows the person's last applied one, so the scene runs again on a warm stack.
import type { Client } from '@temporalio/client';
import type { Connector } from '../../connectors/contract.js';
import { publishEventFile, validateEventFile } from '../../ingress/event-files.js';
import type { Config } from '../../schemas/config.js';
import type { HrEvent, HrEventType, WorkerSnapshot } from '../../schemas/events.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { read } from './demo-steps.js';
import { datedLines } from './status.js';

export const DEMO_HR = {
  mover: { employeeId: 'E1004', familyName: 'Goble', title: 'Senior Research Analyst' },
  prehire: { employeeId: 'E1006', givenName: 'Margaret', familyName: 'Hamilton', email: 'margaret.hamilton@example.com', department: 'Engineering', title: 'Software Engineer', region: 'eu', location: 'Berlin', startInDays: 10 },
  leaver: { employeeId: 'E1005', lastDayInSeconds: 20 },
} as const;

type Deps = { cfg: Config; client: Client; connectors: ReadonlyMap<string, Connector>; hires: readonly HrEvent[]; say: (line: string) => void };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stateOf(client: Client, employeeId: string): Promise<IdentityState | undefined> {
  return client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState).catch(() => undefined);
}

/** Polls the person's workflow until `done` holds; the error names the person and their last state. */
async function untilState(client: Client, employeeId: string, what: string, timeoutMs: number, done: (s: IdentityState) => boolean): Promise<IdentityState> {
  const deadline = Date.now() + timeoutMs;
  let last: IdentityState | undefined;
  for (;;) {
    last = (await stateOf(client, employeeId)) ?? last;
    if (last && last.pendingEvents === 0 && last.status !== 'provisioning' && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`${employeeId}: ${what} did not happen within ${timeoutMs / 1000} s (status ${last?.status ?? 'unknown'}); see the Temporal UI`);
    await sleep(300);
  }
}

function event(type: HrEventType, snapshot: WorkerSnapshot): HrEvent {
  return {
    specversion: '1.0',
    id: `demo-${snapshot.employeeId}-${snapshot.sequence}-${Date.now().toString(36)}`,
    source: 'urn:hris:workday-demo',
    type,
    time: new Date().toISOString(),
    subject: snapshot.employeeId,
    datacontenttype: 'application/json',
    data: snapshot,
  } as HrEvent;
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Publishes the scene's events; one the schema refuses fails the step with its reason, not a timeout later. */
async function publish(cfg: Config, events: readonly HrEvent[]): Promise<void> {
  const validated = validateEventFile(events.map((e) => JSON.stringify(e)).join('\n'));
  if (validated.errors.length > 0) throw new Error(`the scene's events are invalid: ${validated.errors.map((e) => e.reason).join('; ')}`);
  await publishEventFile(cfg, validated);
}

/** The person's accounts, app by app: whether each is active and the attributes asked for. */
async function accountsOf(connectors: ReadonlyMap<string, Connector>, employeeId: string, names: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const [app, connector] of connectors) {
    const account = await read((call) => connector.getAccount({ employeeId }, call));
    if (!account) continue;
    const shown = names.flatMap((n) => (account.attributes?.[n] !== undefined ? [`${n}=${JSON.stringify(account.attributes[n])}`] : []));
    lines.push(`      ${app.padEnd(10)} ${account.active ? 'active  ' : 'disabled'} ${shown.join(' ')}`);
  }
  return lines;
}

export async function demoHrChanges(deps: Deps): Promise<{ updated: string; prehired: string; left: string }> {
  const { cfg, client, connectors, hires, say } = deps;
  const { mover, prehire, leaver } = DEMO_HR;
  const snapshotOf = (employeeId: string) => {
    const hire = hires.find((h) => h.subject === employeeId);
    if (!hire) throw new Error(`the hires file has no ${employeeId}: the HR scene changes ${mover.employeeId} and ${leaver.employeeId}`);
    return hire.data;
  };
  const nextSequence = async (employeeId: string) => ((await stateOf(client, employeeId))?.lastAppliedSequence ?? 0) + 1;
  const now = Date.now();

  const moved: WorkerSnapshot = { ...snapshotOf(mover.employeeId), sequence: await nextSequence(mover.employeeId), effectiveAt: new Date(now).toISOString(), familyName: mover.familyName, title: mover.title };
  const startDate = isoDate(now + prehire.startInDays * 86_400_000);
  const { startInDays: _days, ...person } = prehire;
  const hired: WorkerSnapshot = { ...person, sequence: await nextSequence(prehire.employeeId), effectiveAt: new Date(now).toISOString(), status: 'active', employmentType: 'employee', costCenter: 'CC-100', startDate, managerId: 'E1001' };
  // A second run finds the leaver gone already: HR rehires them first, so the last day means something again.
  let leaverSequence = await nextSequence(leaver.employeeId);
  if ((await stateOf(client, leaver.employeeId))?.status === 'deprovisioned') {
    const rehired: WorkerSnapshot = { ...snapshotOf(leaver.employeeId), sequence: leaverSequence, effectiveAt: new Date(now).toISOString(), status: 'active' };
    await publish(cfg, [event('hr.worker.rehired', rehired)]);
    await untilState(client, leaver.employeeId, 'the rehire', 120_000, (s) => s.lastAppliedSequence >= rehired.sequence && s.status === 'provisioned');
    say(`  ${leaver.employeeId} was terminated by an earlier run: rehired first (accounts enabled again)`);
    leaverSequence += 1;
  }
  const lastDay = new Date(Date.now() + leaver.lastDayInSeconds * 1000).toISOString();
  const terminated: WorkerSnapshot = { ...snapshotOf(leaver.employeeId), sequence: leaverSequence, effectiveAt: lastDay, status: 'terminated' };
  await publish(cfg, [event('hr.worker.updated', moved), event('hr.worker.hired', hired), event('hr.worker.terminated', terminated)]);
  say(`  ${mover.employeeId} changes family name and title; ${prehire.employeeId} is hired to start on ${startDate}; ${leaver.employeeId}'s last day is ${lastDay}`);

  const applied = (s: WorkerSnapshot) => (st: IdentityState) => st.lastAppliedSequence >= s.sequence;
  await untilState(client, mover.employeeId, 'the update', 120_000, applied(moved));
  say(`  ${mover.employeeId}: updated where the policy maps the changed attributes, nothing else changed:`);
  for (const line of await accountsOf(connectors, mover.employeeId, ['name.familyName', 'displayName', 'sn', 'cn', 'title'])) say(line);

  const waiting = await untilState(client, prehire.employeeId, 'the prehire', 120_000, applied(hired));
  say(`  ${prehire.employeeId}: hired ahead of the start; chat's prehire window (prehireDays: 14) is open, the other apps wait for the start:`);
  for (const line of await accountsOf(connectors, prehire.employeeId, ['userName', 'title'])) say(line);
  for (const line of datedLines(waiting)) say(`  ${line}`);

  const before = await untilState(client, leaver.employeeId, 'the dated termination', 120_000, applied(terminated));
  say(`  ${leaver.employeeId}: keeps access until the last day (${before.status}); scheduled:`);
  for (const line of datedLines(before).filter((l) => l.includes('disableAccount'))) say(`  ${line}`);
  await untilState(client, leaver.employeeId, 'the disable on the last day', leaver.lastDayInSeconds * 1000 + 90_000, (s) => s.status === 'deprovisioned');
  say(`  ${leaver.employeeId}: disabled at its time (${new Date().toISOString()}):`);
  for (const line of await accountsOf(connectors, leaver.employeeId, [])) say(line);
  return { updated: mover.employeeId, prehired: prehire.employeeId, left: leaver.employeeId };
}
