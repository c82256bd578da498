// `provisioner audit verify | query | checkpoint | publish | purge`: the audit trail for auditors
// and operators. Keys, checkpoint file and store schema come from the environment (store/store-keys.ts).
import type { Command } from 'commander';
import { loadConfig } from '../../schemas/config.js';
import { createKafka } from '../../kafka/client.js';
import { checkpointDestinations, signCheckpoint } from '../../store/audit-checkpoints.js';
import { createKafkaAuditSink, publishPendingAuditRecords, type AuditSink } from '../../store/audit-publisher.js';
import { queryAudit, type AuditRow } from '../../store/audit-query.js';
import { fileCheckpointSource, kafkaCheckpointSource, verifyAuditChain, type VerifyResult } from '../../store/audit-verify.js';
import { openStore } from '../../store/open-store.js';
import { purgeExpiredPersons } from '../../store/retention.js';
import type { Store } from '../../store/store.js';
import { ConfigError } from '../../schemas/config.js';
import { CommandFailure, kafkaReason, oneLine } from '../failure.js';
import { say } from '../say.js';


/** Opens the store for one command and closes it after; a missing chain gets a message, not a stack trace. */
async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(loadConfig());
  try {
    return await fn(store);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') {
      throw new Error(`the store in schema ${store.schema} has no audit chain yet (its tables do not exist): start the worker once, which migrates it`, { cause: err });
    }
    throw err;
  } finally {
    await store.close();
  }
}

/** An ISO date or time, or a duration back from now: 90m, 24h, 7d. */
export function parseTime(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)(m|h|d)$/.exec(text);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`expected an ISO time (2026-01-31, 2026-01-31T08:00:00Z) or a duration ago (90m, 24h, 7d); got ${text}`);
  return date;
}

function subjectOf(row: AuditRow): string {
  if (row.subjectEmployeeId) return row.subjectEmployeeId;
  if (!row.subject) return '-';
  return `~${row.subject.slice(0, 8)}${row.sealedUnreadable ? ' (sealed)' : ''}`;
}

function actorOf(row: AuditRow): string {
  if (row.actorEmployeeId) return row.actorEmployeeId;
  return row.actor.startsWith('person:') ? `~${row.actor.slice('person:'.length, 'person:'.length + 8)}` : row.actor;
}

export function formatAuditTable(rows: AuditRow[]): string {
  const header = ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'SUBJECT', 'APPS', 'REASON'];
  const cells = rows.map((r) => [
    String(r.seq),
    r.at.replace(/\.\d+Z$/, 'Z'),
    actorOf(r),
    r.action,
    subjectOf(r),
    [...new Set(r.changes.flatMap((c) => (c.app ? [c.app] : [])))].join(',') || '-',
    r.reason.length > 60 ? `${r.reason.slice(0, 59)}…` : r.reason,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

/** `--from file,kafka` as the sources to read. */
export function parseSources(text: string): Array<'file' | 'kafka'> {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => n !== 'file' && n !== 'kafka');
  if (names.length === 0 || unknown.length > 0) throw new ConfigError(`--from expects file, kafka or file,kafka; got ${text}`);
  return names as Array<'file' | 'kafka'>;
}

const short = (hash: string) => `${hash.slice(0, 16)}…`;

/** The lines `audit verify` prints: the verdict, and the last record verified (seq, time, hash) in a failure's line. */
export function formatVerifyResult(result: VerifyResult): string[] {
  const last = result.lastVerified
    ? `last verified record: seq ${result.lastVerified.seq} at ${result.lastVerified.at} (hash ${short(result.lastVerified.hash)})`
    : 'last verified record: none';
  const sources = result.sources.map((s) => `${s.source}: ${s.checkpoints} checkpoint(s)${s.newest ? `, newest seq ${s.newest.seq} at ${s.newest.at}` : ''}`);
  if (result.ok) {
    return [
      `audit verify: ${result.verified} records verified; head seq ${result.head?.seq ?? 0} (${short(result.head?.hash ?? '')}); ${result.checkpoints} checkpoint(s) matched`,
      ...sources.map((s) => `audit verify: ${s}`),
    ];
  }
  const problem = result.problem!;
  if (problem.kind === 'checkpoint-missing') {
    const anchored = problem.lastCheckpointed;
    return [
      `audit verify: FAILED at record ${problem.seq} (${problem.kind}): ${problem.message}; ${last}${anchored ? `; last checkpointed: seq ${anchored.seq} at ${anchored.at}` : '; no checkpoint vouches for any record'}`,
      `audit verify: the ${result.verified} records verify among themselves, but records after the last checkpointed one could have been rewritten unseen`,
      ...sources.map((s) => `audit verify: ${s}`),
    ];
  }
  return [
    `audit verify: FAILED at record ${problem.seq} (${problem.kind}): ${problem.message}; ${last}`,
    `audit verify: ${result.verified} records verified before it`,
  ];
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail: verify it, query it, checkpoint it');

  audit
    .command('verify')
    .description('verify the whole chain (hashes, links, signatures) and its checkpoints outside the database, and that none are missing; exit 1 naming the first bad record and the last verified one')
    .option('--checkpoints <file>', 'the checkpoint file (default PROVISIONER_AUDIT_CHECKPOINTS or <dataDir>/audit/checkpoints.jsonl)')
    .option('--no-checkpoints', 'ignore checkpoints (a truncated tail is then detected only from the head row)')
    .option('--from <sources>', 'where to read checkpoints: file, kafka or file,kafka (default audit.checkpointTo)')
    .option('--since <time>', 'expect checkpoints from this time (ISO) or this long ago (90m, 24h, 7d) on: leaves out a known outage, or the time before checkpoints were configured')
    .option('--until <time>', 'expect checkpoints up to this time, not now: an archived copy of the database, or a worker stopped on purpose')
    .option('--json', 'machine-readable output')
    .action(async (opts: { checkpoints?: string | false; from?: string; since?: string; until?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const from = opts.from === undefined ? cfg.audit.checkpointTo : parseSources(opts.from);
      const expect = {
        intervalMs: cfg.audit.checkpointIntervalSeconds * 1000,
        graceMs: cfg.audit.checkpointGraceSeconds * 1000,
        ...(opts.since ? { since: parseTime(opts.since).getTime() } : {}),
        ...(opts.until ? { until: parseTime(opts.until).getTime() } : {}),
      };
      await withStore(async (store) => {
        if (store.keys.verifier.keyIds().length === 0) {
          throw new Error('no audit verification key: set PROVISIONER_AUDIT_VERIFY_KEYS (public keys) or PROVISIONER_AUDIT_SIGNING_KEY[_FILE]');
        }
        const sources = opts.checkpoints === false ? [] : [
          ...(from.includes('file') ? [fileCheckpointSource(opts.checkpoints ?? store.checkpointsFile!)] : []),
          ...(from.includes('kafka') ? [kafkaCheckpointSource(createKafka(cfg), cfg.kafka.topics.audit)] : []),
        ];
        const result = await verifyAuditChain(store.pool, { verifier: store.keys.verifier, checkpointSources: sources, ...(sources.length > 0 ? { expect } : {}) });
        if (opts.json) say(JSON.stringify(result, null, 2));
        else formatVerifyResult(result).forEach((line) => say(line));
        if (!result.ok) process.exitCode = 1;
      });
    });

  audit
    .command('query')
    .description('audit records by employee, application, actor and time range (newest first)')
    .option('--employee <id>', 'records about this employee')
    .option('--app <app>', 'records that change this application')
    .option('--actor <actor>', 'records by this employee id, or system:<name> / service:<name>')
    .option('--since <time>', 'from this time (ISO) or this long ago (90m, 24h, 7d)')
    .option('--until <time>', 'before this time (ISO) or this long ago')
    .option('--limit <n>', 'at most this many records', '100')
    .option('--asc', 'oldest first')
    .option('--json', 'one JSON object per record')
    .action(async (opts: { employee?: string; app?: string; actor?: string; since?: string; until?: string; limit: string; asc?: boolean; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit expects a positive whole number; got ${opts.limit}`);
      await withStore(async (store) => {
        const rows = await queryAudit(store.pool, store.keys.kek, {
          ...(opts.employee ? { employeeId: opts.employee } : {}),
          ...(opts.app ? { app: opts.app } : {}),
          ...(opts.actor ? { actor: opts.actor } : {}),
          ...(opts.since ? { from: parseTime(opts.since) } : {}),
          ...(opts.until ? { to: parseTime(opts.until) } : {}),
          limit,
          order: opts.asc ? 'asc' : 'desc',
        });
        if (opts.json) return rows.forEach((r) => say(JSON.stringify(r)));
        if (rows.length === 0) return say('audit query: no records match');
        say(formatAuditTable(rows));
        say(`audit query: ${rows.length} record(s)${rows.length === limit ? ` (limit ${limit}; raise --limit for more)` : ''}`);
      });
    });

  audit
    .command('checkpoint')
    .description('sign the current head and write it to the checkpoint destinations (audit.checkpointTo: the file, the audit topic)')
    .action(async () => {
      const cfg = loadConfig();
      await withStore(async (store) => {
        // Kafka is connected on the first write: a broker that is down fails its destination only.
        let opened: Promise<AuditSink> | undefined;
        const sink: AuditSink = { send: async (messages) => (await (opened ??= createKafkaAuditSink(cfg))).send(messages), close: async () => undefined };
        try {
          const cp = await signCheckpoint(store.pool, store.keys.signer);
          const written: string[] = [];
          const failed: string[] = [];
          for (const destination of checkpointDestinations({ ...cfg, audit: { ...cfg.audit, checkpointsFile: store.checkpointsFile! } }, sink)) {
            await destination.write(cp).then(
              () => written.push(destination.name),
              (err: unknown) => failed.push(`${destination.name}: ${kafkaReason(err) ?? oneLine((err as Error).message)}`),
            );
          }
          if (written.length > 0) say(`audit checkpoint: seq ${cp.seq} head ${cp.head.slice(0, 16)}… written to ${written.join(' and ')}`);
          if (failed.length > 0) throw new CommandFailure(`audit checkpoint: seq ${cp.seq} not written to ${failed.join('; ')}`);
        } finally {
          await (await opened?.catch(() => undefined))?.close();
        }
      });
    });

  audit
    .command('publish')
    .description('produce every record not yet published to the audit topic (normally the worker does this continuously)')
    .action(async () => {
      const cfg = loadConfig();
      await withStore(async (store) => {
        const sink = await createKafkaAuditSink(cfg);
        try {
          const n = await publishPendingAuditRecords(store.pool, sink);
          say(`audit publish: ${n} record(s) produced to ${cfg.kafka.topics.audit}`);
        } finally {
          await sink.close();
        }
      });
    });

  audit
    .command('purge')
    .description('delete the identity and personal-data key of everyone terminated longer ago than the retention period')
    .requiredOption('--retention-days <n>', 'the retention period after termination, in days')
    .action(async (opts: { retentionDays: string }) => {
      const retentionDays = Number(opts.retentionDays);
      if (!Number.isFinite(retentionDays) || retentionDays < 0) throw new Error(`--retention-days expects a number of days ≥ 0; got ${opts.retentionDays}`);
      await withStore(async (store) => {
        const { purged } = await purgeExpiredPersons(store, { retentionDays });
        say(`audit purge: ${purged.length} person(s) purged (terminated more than ${retentionDays} days ago); the chain is unchanged`);
      });
    });
}
