// Dated changes: a future start and a future termination. Pure: the planner asks, with its `now`.
//   start:       `startDate` is a date (its 00:00 in lifecycle.timezone, default UTC) or an RFC 3339
//                date-time (that moment; handy with compressed time). Before it, an application's
//                window opens `prehireDays` before the start (the application's, else lifecycle's):
//                before the window nothing is planned there and the plan says when to look again
//                (`wakeAt`); inside it the account is made disabled and enabled at the start by a
//                scheduled step. An account that exists disabled is enabled at the start, not before.
//   termination: a future `effectiveAt` moves the leaver's disable and revokes to that moment; a
//                past one acts at once. Deletion counts from effectiveAt either way (planner.ts).
import type { CompiledPolicy } from './compile.js';
import type { Identity } from './identity.js';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** How far `timeZone` is ahead of UTC at the instant `t`, in milliseconds. */
function zoneOffset(t: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(t)
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - Math.floor(t / 1000) * 1000;
}

/** The moment a start begins: a date at its 00:00 in `timeZone`, a date-time as given. */
export function startMoment(startDate: string, timeZone: string): number {
  const date = DATE_ONLY.exec(startDate);
  if (!date) return Date.parse(startDate);
  const midnightUtc = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]));
  // The offset at the guess, then again at the result: a DST change near midnight moves it.
  const guess = midnightUtc - zoneOffset(midnightUtc, timeZone);
  return midnightUtc - zoneOffset(guess, timeZone);
}

/** A future start as the planner uses it, for one plan. */
export type Prehire = {
  /** The start, ISO. */
  start: string;
  /** Whether an application without an account waits: its prehire window has not opened yet. */
  waits(app: string): boolean;
  /** The earliest window that has not opened, and why the person is looked at then. */
  wake(): { wakeAt: string; wakeReason: string } | undefined;
  /** The fields of a step that must wait for the start. */
  atStart(): { notBefore: string };
};

/** The person's future start, when there is one (an active or pre-hire person whose start is after `now`). */
export function prehireOf(policy: CompiledPolicy, identity: Identity, now: string): Prehire | undefined {
  if (!identity.startDate || (identity.status !== 'active' && identity.status !== 'pre-hire')) return undefined;
  const { lifecycle } = policy.model;
  const start = startMoment(identity.startDate, lifecycle.timezone);
  const nowMs = Date.parse(now);
  if (!(start > nowMs)) return undefined;
  const startIso = new Date(start).toISOString();
  const waiting: { app: string; opens: number }[] = [];
  return {
    start: startIso,
    waits(app) {
      const days = policy.applications.get(app)?.prehireDays ?? lifecycle.prehireDays;
      const opens = start - Math.round(days * DAY_MS);
      if (opens <= nowMs) return false;
      if (!waiting.some((w) => w.app === app)) waiting.push({ app, opens });
      return true;
    },
    wake() {
      if (waiting.length === 0) return undefined;
      const opens = Math.min(...waiting.map((w) => w.opens));
      const apps = waiting.filter((w) => w.opens === opens).map((w) => w.app).sort();
      return { wakeAt: new Date(opens).toISOString(), wakeReason: `prehire: ${apps.join(', ')} ${apps.length === 1 ? 'opens' : 'open'} for the start ${startIso}` };
    },
    atStart: () => ({ notBefore: startIso }),
  };
}

/** A termination whose effectiveAt is still to come: the leaver's disable and revokes wait for it. */
export function futureTermination(identity: Identity, now: string): { notBefore: string } | undefined {
  if (identity.status !== 'terminated' || !identity.effectiveAt) return undefined;
  const at = Date.parse(identity.effectiveAt);
  return at > Date.parse(now) ? { notBefore: new Date(at).toISOString() } : undefined;
}
