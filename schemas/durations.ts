// ISO 8601 durations (`P7D`, `PT15M`, `P1Y6M`, `P2W`): parsed, compared and added to timestamps.
// Policy durations are validated by parsing them with this module, so "valid" means "we can use it".

export type Duration = {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
};

// ISO 8601-1 §5.5.2.4 (duration in the format with designators); fractions only on seconds.
const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,9})?)S)?)?$/;

/** The duration's parts, or undefined when `text` is not an ISO 8601 duration we support. */
export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  // `P` and `PT` alone carry no designator: not a duration.
  if (m.slice(1).every((g) => g === undefined)) return undefined;
  if (text.endsWith('T')) return undefined;
  const n = (g: string | undefined): number => (g === undefined ? 0 : Number(g));
  return { years: n(m[1]), months: n(m[2]), weeks: n(m[3]), days: n(m[4]), hours: n(m[5]), minutes: n(m[6]), seconds: n(m[7]) };
}

export function isDuration(text: string): boolean {
  return parseDuration(text) !== undefined;
}

export const DURATION_HINT = 'expected an ISO 8601 duration such as P7D, PT15M, P1Y6M or P2W';

const DAY_MS = 86_400_000;

/**
 * Milliseconds, with a year counted as 365 days and a month as 30 days: for comparing durations
 * and for short windows. Use `addDuration` to schedule against the calendar.
 */
export function durationMs(text: string): number {
  const d = parseDuration(text);
  if (!d) throw new RangeError(`not an ISO 8601 duration: ${text}`);
  return msOf(d);
}

const msOf = (d: Duration): number =>
  d.years * 365 * DAY_MS +
  d.months * 30 * DAY_MS +
  d.weeks * 7 * DAY_MS +
  d.days * DAY_MS +
  d.hours * 3_600_000 +
  d.minutes * 60_000 +
  Math.round(d.seconds * 1000);

/**
 * The longest duration accepted anywhere (policy, access requests). Past it a date leaves what a
 * timestamp can hold (`P9999999Y` from now is no date at all), and no access is meant to last longer.
 */
export const MAX_DURATION = 'P100Y';
const MAX_DURATION_MS = 100 * 365 * DAY_MS;

/** False only for a duration longer than MAX_DURATION (text that is no duration is for `isDuration` to refuse). */
export function isWithinMaxDuration(text: string): boolean {
  const d = parseDuration(text);
  return d === undefined || msOf(d) <= MAX_DURATION_MS;
}

export const MAX_DURATION_HINT = `a duration is at most ${MAX_DURATION} (a month counts 30 days, a year 365)`;

/**
 * `at` + `duration` as an ISO timestamp (UTC). Years and months follow the calendar (clamped to the
 * month's last day: 31 Jan + P1M = 28/29 Feb); days are 24-hour UTC days.
 */
export function addDuration(at: string, duration: string): string {
  const d = parseDuration(duration);
  if (!d) throw new RangeError(`not an ISO 8601 duration: ${duration}`);
  const start = new Date(at);
  if (Number.isNaN(start.getTime())) throw new RangeError(`not a timestamp: ${at}`);
  const t = new Date(start.getTime());
  if (d.years !== 0 || d.months !== 0) {
    const day = t.getUTCDate();
    t.setUTCDate(1);
    t.setUTCMonth(t.getUTCMonth() + d.years * 12 + d.months);
    const lastDay = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
    t.setUTCDate(Math.min(day, lastDay));
  }
  const rest = (d.weeks * 7 + d.days) * DAY_MS + d.hours * 3_600_000 + d.minutes * 60_000 + Math.round(d.seconds * 1000);
  return new Date(t.getTime() + rest).toISOString();
}
