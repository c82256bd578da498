// Which checkpoints `audit verify` expects: given the records' append times and the checkpoints a
// destination holds, what is missing. Interval 30 s, grace 5 min: a record must be covered within
// 5.5 min, and checkpoints (heartbeats every 10 intervals when idle) lie at most 10 min apart.
import { describe, expect, it } from 'vitest';
import { formatVerifyResult, parseSources } from '../../../cli/commands/audit.js';
import { HEARTBEAT_INTERVALS, missingCheckpoints, type TimedSeq } from '../../../store/checkpoint-expectations.js';
import type { VerifyResult } from '../../../store/audit-verify.js';
import { loadConfig } from '../../../schemas/config.js';

const T0 = Date.parse('2026-12-01T08:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const expectation = (untilMinutes: number, sinceMinutes?: number) => ({
  intervalMs: 30_000, graceMs: 300_000, until: min(untilMinutes), ...(sinceMinutes !== undefined ? { since: min(sinceMinutes) } : {}),
});
/** One record a minute, seq 1 at minute 0. */
const records = (n: number): TimedSeq[] => Array.from({ length: n }, (_, i) => ({ seq: i + 1, at: min(i) }));
/** What an honest checkpointer writes: every 30 s while the head moves, a heartbeat every 5 min when idle. */
function honest(recs: TimedSeq[], untilMinutes: number): TimedSeq[] {
  const out: TimedSeq[] = [];
  let lastAt = -Infinity;
  let lastSeq = -1;
  for (let t = T0 + 30_000; t <= min(untilMinutes); t += 30_000) {
    const seq = recs.filter((r) => r.at <= t).at(-1)?.seq ?? 0;
    if (seq !== lastSeq || t - lastAt >= HEARTBEAT_INTERVALS * 30_000) {
      out.push({ seq, at: t });
      lastAt = t;
      lastSeq = seq;
    }
  }
  return out;
}

describe('the checkpoints audit verify expects', () => {
  it('an honest checkpointer leaves nothing missing, busy or idle', () => {
    const recs = records(20);
    expect(missingCheckpoints({ records: recs, checkpoints: honest(recs, 120), expect: expectation(120) })).toEqual([]);
  });

  it('records younger than interval + grace need no checkpoint yet', () => {
    expect(missingCheckpoints({ records: records(3), checkpoints: [], expect: expectation(5) })).toEqual([]);
  });

  it('no checkpoint at all while a record is older than interval + grace: missing, naming the oldest record', () => {
    const [found, ...rest] = missingCheckpoints({ records: records(3), checkpoints: [], expect: expectation(10) });
    expect(rest).toEqual([]);
    expect(found).toMatchObject({ kind: 'none', seq: 1, from: min(0) });
    expect(found!.lastCheckpointed).toBeUndefined();
    expect(found!.message).toMatch(/^no checkpoint at all, but record 1 was appended at 2026-12-01T08:00:00.000Z, 10m before/);
  });

  it('checkpoints removed from the middle: a gap, and the records appended in it were checkpointed late', () => {
    const recs = records(60);
    const cps = honest(recs, 70).filter((c) => c.at < min(20) || c.at > min(40));
    const found = missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(70) });
    expect(found.map((f) => f.kind)).toEqual(['gap', 'late']);
    // The last surviving checkpoint is the one taken at minute 19 (record 20 was appended then).
    const gap = found[0]!;
    expect(gap).toMatchObject({ seq: 21, from: min(19), to: min(41), lastCheckpointed: { seq: 20, at: min(19) } });
    expect(gap.message).toMatch(/no checkpoint for 22m, from 2026-12-01T08:19:00.000Z to 2026-12-01T08:41:00.000Z/);
    expect(found[1]).toMatchObject({ kind: 'late', seq: 21, from: min(20), to: min(41), lastCheckpointed: { seq: 20 } });
    expect(found[1]!.message).toMatch(/record 21, appended at 2026-12-01T08:20:00.000Z, was first checkpointed 21m later \(at 2026-12-01T08:41:00.000Z, seq 42\)/);
  });

  it('a stretch without checkpoints is missing even when no record was appended in it (a chain cut back to a surviving checkpoint looks idle)', () => {
    const recs = records(5);
    const cps = honest(recs, 60).filter((c) => c.at < min(10) || c.at > min(30));
    const found = missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(60) });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'gap', seq: 6, lastCheckpointed: { seq: 5 } });
  });

  it('the newest checkpoint older than the heartbeat + grace: stale, naming it', () => {
    const recs = records(5);
    const cps = honest(recs, 30);
    const found = missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(60) });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'stale', seq: 6, lastCheckpointed: cps.at(-1) });
    // Record 5 at minute 4, then heartbeats at 9, 14, 19, 24, 29.
    expect(cps.at(-1)).toEqual({ seq: 5, at: min(29) });
    expect(found[0]!.message).toMatch(/^the newest checkpoint \(seq 5\) was taken at 2026-12-01T08:29:00.000Z, 31m before 2026-12-01T09:00:00.000Z/);
  });

  it('records after the newest checkpoint, older than interval + grace: not checkpointed', () => {
    const recs = records(40);
    const cps = honest(recs, 40).filter((c) => c.seq <= 30);
    const found = missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(38) });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'late', seq: 31, to: min(38) });
    expect(found[0]!.message).toMatch(/records from 31 on .* have no checkpoint 8m later: the newest checkpoint names seq 30/);
  });

  it('judges only from --since to --until: a known outage before, or an archived copy after, is left out', () => {
    const recs = records(5);
    const cps = honest(recs, 100).filter((c) => c.at < min(10) || c.at > min(60));
    expect(missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(100) }).map((f) => f.kind)).toEqual(['gap']);
    expect(missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(100, 60) })).toEqual([]);
    // A copy taken at minute 9: nothing after it is expected.
    expect(missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(9) })).toEqual([]);
    // From --since on, the first checkpoint must come within the heartbeat + grace too.
    expect(missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(100, 20) })[0]).toMatchObject({ kind: 'gap', from: min(20) });
  });

  it('the sparse timeline verify passes (the first record after each checkpointed seq) finds the same as every record', () => {
    const recs = records(60);
    const cps = honest(recs, 70).filter((c) => c.at < min(20) || c.at > min(40));
    const wanted = new Set([1, ...cps.map((c) => c.seq + 1)]);
    const sparse = recs.filter((r) => wanted.has(r.seq));
    expect(missingCheckpoints({ records: sparse, checkpoints: cps, expect: expectation(70) })).toEqual(missingCheckpoints({ records: recs, checkpoints: cps, expect: expectation(70) }));
  });
});

describe('audit verify output', () => {
  const base: VerifyResult = { ok: true, verified: 12, head: { seq: 12, hash: 'a'.repeat(64) }, lastVerified: { seq: 12, at: '2026-12-01T08:11:00.000000Z', hash: 'a'.repeat(64) }, checkpoints: 3, sources: [{ source: 'file /x', checkpoints: 3, newest: { seq: 12, at: '2026-12-01T08:11:30.000Z' }, missing: [] }] };

  it('a failure line names the last verified record: seq, time, hash prefix', () => {
    const lines = formatVerifyResult({ ...base, ok: false, verified: 6, lastVerified: { seq: 6, at: '2026-12-01T08:05:00.000000Z', hash: 'b'.repeat(64) }, problem: { kind: 'missing', seq: 7, message: 'record 7 is missing (deleted)' } });
    expect(lines[0]).toBe(`audit verify: FAILED at record 7 (missing): record 7 is missing (deleted); last verified record: seq 6 at 2026-12-01T08:05:00.000000Z (hash ${'b'.repeat(16)}…)`);
  });

  it('missing checkpoints name the last verified and the last checkpointed record, and each source', () => {
    const lines = formatVerifyResult({ ...base, ok: false, problem: { kind: 'checkpoint-missing', seq: 13, message: 'checkpoints missing in file /x: ...', lastCheckpointed: { seq: 10, at: '2026-12-01T08:09:30.000Z' } } });
    expect(lines[0]).toMatch(/^audit verify: FAILED at record 13 \(checkpoint-missing\): checkpoints missing in file \/x: \.\.\.; last verified record: seq 12 at .*; last checkpointed: seq 10 at 2026-12-01T08:09:30.000Z$/);
    expect(lines).toContain('audit verify: file /x: 3 checkpoint(s), newest seq 12 at 2026-12-01T08:11:30.000Z');
  });

  it('--from takes file, kafka or both, and nothing else', () => {
    expect(parseSources('kafka')).toEqual(['kafka']);
    expect(parseSources('file, kafka')).toEqual(['file', 'kafka']);
    expect(() => parseSources('s3')).toThrow(/--from expects file, kafka or file,kafka; got s3/);
  });
});

describe('the checkpoint settings', () => {
  const root = '/nonexistent-root';
  it('default to the file and the topic, every 30 s, 5 min of grace', () => {
    expect(loadConfig({ env: {}, root }).audit).toEqual({ checkpointsFile: `${root}/.provisioner/audit/checkpoints.jsonl`, checkpointTo: ['file', 'kafka'], checkpointIntervalSeconds: 30, checkpointGraceSeconds: 300 });
  });

  it('come from the environment', () => {
    const cfg = loadConfig({ env: { PROVISIONER_AUDIT_CHECKPOINT_TO: 'kafka', PROVISIONER_AUDIT_CHECKPOINT_INTERVAL: '10', PROVISIONER_AUDIT_CHECKPOINT_GRACE: '60', PROVISIONER_AUDIT_CHECKPOINTS: '/mnt/audit/cp.jsonl' }, root });
    expect(cfg.audit).toEqual({ checkpointsFile: '/mnt/audit/cp.jsonl', checkpointTo: ['kafka'], checkpointIntervalSeconds: 10, checkpointGraceSeconds: 60 });
  });

  it('refuse a destination that does not exist, naming the variable', () => {
    expect(() => loadConfig({ env: { PROVISIONER_AUDIT_CHECKPOINT_TO: 'file,s3' }, root })).toThrow(/at audit\.checkpointTo\.1 \(set by PROVISIONER_AUDIT_CHECKPOINT_TO\)/);
    expect(() => loadConfig({ env: { PROVISIONER_AUDIT_CHECKPOINT_INTERVAL: 'soon' }, root })).toThrow(/at audit\.checkpointIntervalSeconds \(set by PROVISIONER_AUDIT_CHECKPOINT_INTERVAL\)/);
  });
});
