// Which checkpoints `audit verify` expects and does not find (pure: times in, findings out). The
// worker's checkpointer signs the head every interval when it moved and every HEARTBEAT_INTERVALS
// intervals when it did not, so a checkpoint destination holds a steady series. What is expected of it:
//   - every record is covered (a checkpoint names it or a later record) within interval + grace of
//     its append: records that never were, or only late, were appended while no checkpoint left the
//     host (the checkpointer was not running, or its checkpoints were removed);
//   - no two consecutive checkpoints lie further apart than the heartbeat + grace, and the newest
//     is no older than that at `until` (now): a gap is a stretch whose checkpoints are missing,
//     even when no record was appended (a chain cut back to a surviving checkpoint looks idle).
// Only the stretch from `since` to `until` is judged, so a known outage or the time before
// checkpoints were configured can be left out, and an archived database judged as of its copy.

/** When idle, the checkpointer still signs the head every this many intervals (a heartbeat). */
export const HEARTBEAT_INTERVALS = 10;

export type TimedSeq = { seq: number; at: number };

export type CheckpointExpectation = {
  intervalMs: number;
  graceMs: number;
  /** Judge from here on (epoch ms); default the whole chain. */
  since?: number;
  /** Judge as of this time (epoch ms): now, or when an archived copy was taken. */
  until: number;
};

export type MissingCheckpoint = {
  kind: 'none' | 'late' | 'gap' | 'stale';
  /** The first record no timely checkpoint vouches for. */
  seq: number;
  /** Where the stretch without checkpoints starts and ends (epoch ms). */
  from: number;
  to: number;
  /** The newest checkpoint before the stretch, if any. */
  lastCheckpointed?: TimedSeq;
  message: string;
};

const iso = (ms: number) => new Date(ms).toISOString();

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function expectationLimits(expect: Pick<CheckpointExpectation, 'intervalMs' | 'graceMs'>): { coverMs: number; gapMs: number } {
  return { coverMs: expect.intervalMs + expect.graceMs, gapMs: HEARTBEAT_INTERVALS * expect.intervalMs + expect.graceMs };
}

/**
 * The missing checkpoints of one destination, earliest first. `records` are (seq, append time) of
 * the chain's records, in seq order: all of them, or at least the first record after each
 * checkpoint's seq and the first record of the chain (no other record can be covered later).
 */
export function missingCheckpoints(input: { records: readonly TimedSeq[]; checkpoints: readonly TimedSeq[]; expect: CheckpointExpectation }): MissingCheckpoint[] {
  const { expect } = input;
  const since = expect.since ?? Number.NEGATIVE_INFINITY;
  const { until } = expect;
  const { coverMs, gapMs } = expectationLimits(expect);
  const every = `expected one within ${formatDuration(coverMs)} of each record and at least every ${formatDuration(gapMs)}`;
  const checkpoints = input.checkpoints.filter((c) => c.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq);
  const records = input.records.filter((r) => r.at >= since && r.at <= until);
  const before = (at: number) => checkpoints.filter((c) => c.at <= at).at(-1);
  const found: MissingCheckpoint[] = [];

  if (checkpoints.length === 0) {
    const oldest = records.find((r) => until - r.at > coverMs);
    if (oldest) {
      found.push({
        kind: 'none', seq: oldest.seq, from: oldest.at, to: until,
        message: `no checkpoint at all, but record ${oldest.seq} was appended at ${iso(oldest.at)}, ${formatDuration(until - oldest.at)} before ${iso(until)} (${every})`,
      });
    }
    return found;
  }

  // Records covered late or not at all. The covering checkpoint of a record is the first one taken
  // after it that names it or a later record.
  let lastLate = -1;
  for (const r of records) {
    if (r.seq <= lastLate) continue;
    const cover = checkpoints.find((c) => c.at >= r.at && c.seq >= r.seq);
    const coveredAt = cover?.at ?? until;
    if (coveredAt - r.at <= coverMs) continue;
    const last = before(r.at);
    lastLate = cover?.seq ?? Number.POSITIVE_INFINITY;
    found.push(cover
      ? {
        kind: 'late', seq: r.seq, from: r.at, to: cover.at, ...(last ? { lastCheckpointed: last } : {}),
        message: `record ${r.seq}, appended at ${iso(r.at)}, was first checkpointed ${formatDuration(cover.at - r.at)} later (at ${iso(cover.at)}, seq ${cover.seq}): the checkpoints between are missing (${every})`,
      }
      : {
        kind: 'late', seq: r.seq, from: r.at, to: until, ...(last ? { lastCheckpointed: last } : {}),
        message: `records from ${r.seq} on (the first appended at ${iso(r.at)}) have no checkpoint ${formatDuration(until - r.at)} later: the newest checkpoint names seq ${checkpoints.at(-1)!.seq} (${every})`,
      });
  }

  // Stretches without any checkpoint: from `since` (when given) to the first, between
  // consecutive ones, and from the newest to `until`.
  const points = [...(Number.isFinite(since) ? [{ at: since, seq: -1 }] : []), ...checkpoints.filter((c) => c.at >= since)];
  const lastBefore = checkpoints.filter((c) => c.at < since).at(-1);
  for (let i = 0; i < points.length; i += 1) {
    const a = points[i]!;
    const b = points[i + 1];
    const end = b?.at ?? until;
    if (end - a.at <= gapMs) continue;
    const last = a.seq >= 0 ? a : lastBefore;
    const afterSeq = (last?.seq ?? 0) + 1;
    found.push(b
      ? {
        kind: 'gap', seq: afterSeq, from: a.at, to: b.at, ...(last ? { lastCheckpointed: last } : {}),
        message: `no checkpoint for ${formatDuration(b.at - a.at)}, from ${iso(a.at)} to ${iso(b.at)} (${every}): the checkpoints between are missing`,
      }
      : {
        kind: 'stale', seq: afterSeq, from: a.at, to: until, ...(last ? { lastCheckpointed: last } : {}),
        message: `the newest checkpoint${a.seq >= 0 ? ` (seq ${a.seq})` : ''} was taken at ${iso(a.at)}, ${formatDuration(until - a.at)} before ${iso(until)} (${every}): the newer ones are missing, or the checkpointer has stopped`,
      });
  }
  return found.sort((x, y) => x.from - y.from || x.seq - y.seq);
}
