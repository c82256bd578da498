// The "what needs someone" lines of `provisioner status` (the on-call engineer's first look): people
// action-required, failed, held or waiting (clients/attention.ts), approvals pending and how old,
// the oldest unfinished change (store/attention.ts), dead letters no redrive has replayed and the
// ingress's consumer lag (kafka/consumer-lag.ts); each with the command or Temporal UI list behind it.
import { ATTENTION_STATUSES, statusQuery, type PeopleCounts } from '../../clients/attention.js';
import { dlqTopicOf } from '../../ingress/dead-letters.js';
import { createKafka } from '../../kafka/client.js';
import { consumerLag, lagByTopic } from '../../kafka/consumer-lag.js';
import type { Config } from '../../schemas/config.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { oldestUnfinishedChange, pendingApprovals, type PendingApprovals, type UnfinishedChange } from '../../store/attention.js';
import type { Db } from '../../store/db.js';

export const workflowsUiUrl = (cfg: Config, query: string) => `${temporalUiUrl(cfg)}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;

export type KafkaBacklog = {
  /** The ingress consumer groups' lag per source topic. */
  lag: { topic: string; group: string; lag: number }[];
  /** Dead letters per source topic that no redrive has replayed. */
  deadLetters: { topic: string; pending: number }[];
};

export async function kafkaBacklog(cfg: Config): Promise<KafkaBacklog> {
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-status` });
  const sources = [
    { topic: cfg.kafka.topics.hrLifecycle, group: cfg.kafka.groups.hrIngress },
    { topic: cfg.kafka.topics.itsmRequests, group: cfg.kafka.groups.itsmIngress },
  ];
  const lag = await Promise.all(sources.map(async (s) => ({ ...s, lag: Number(lagByTopic(await consumerLag(kafka, s.group, [s.topic])).get(s.topic) ?? 0n) })));
  const dlqs = sources.map((s) => dlqTopicOf(s.topic));
  const pending = lagByTopic(await consumerLag(kafka, cfg.kafka.groups.dlqRedrive, dlqs));
  return { lag, deadLetters: sources.map((s) => ({ topic: s.topic, pending: Number(pending.get(dlqTopicOf(s.topic)) ?? 0n) })) };
}

export type StoreBacklog = { approvals: PendingApprovals; oldestUnfinished?: UnfinishedChange };

export async function storeBacklog(db: Db): Promise<StoreBacklog> {
  const [approvals, oldest] = await Promise.all([pendingApprovals(db), oldestUnfinishedChange(db)]);
  return { approvals, ...(oldest ? { oldestUnfinished: oldest } : {}) };
}

const age = (since: Date, now: Date): string => {
  const s = Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
};

/** The lines `status` prints; `undefined` parts could not be read (their server is down) and say so. */
export function attentionLines(cfg: Config, taskQueue: string, parts: { people?: PeopleCounts; kafka?: KafkaBacklog; store?: StoreBacklog }, now = new Date()): string[] {
  const lines: string[] = [];
  if (parts.people) {
    const { byStatus, awaitingApproval } = parts.people;
    for (const s of ATTENTION_STATUSES) {
      if (byStatus[s] > 0) lines.push(`people    ${String(byStatus[s]).padStart(5)} ${s.toUpperCase()}: ${workflowsUiUrl(cfg, statusQuery(taskQueue, 'identityLifecycle', s))}`);
    }
    if (ATTENTION_STATUSES.every((s) => byStatus[s] === 0)) lines.push('people    none action-required, failed, fence-held, fence-rejected or waiting for an application');
    if (awaitingApproval > 0) lines.push(`requests  ${String(awaitingApproval).padStart(5)} awaiting approval: \`provisioner approvals --all\`, ${workflowsUiUrl(cfg, statusQuery(taskQueue, 'accessRequest', 'awaiting-approval'))}`);
  } else lines.push('people    unknown (Temporal did not answer)');
  if (parts.store) {
    const { approvals, oldestUnfinished } = parts.store;
    if (approvals.pending > 0) lines.push(`approvals ${String(approvals.pending).padStart(5)} pending, the oldest ${age(approvals.oldestAt!, now)} old: \`provisioner approvals --all\``);
    if (oldestUnfinished) lines.push(`oldest    unfinished change planned ${age(oldestUnfinished.plannedAt, now)} ago: \`provisioner status ${oldestUnfinished.employeeId}\``);
  }
  if (parts.kafka) {
    for (const d of parts.kafka.deadLetters) if (d.pending > 0) lines.push(`dlq       ${String(d.pending).padStart(5)} PENDING dead letter(s) of ${d.topic}: \`provisioner dlq list --topic ${d.topic}\``);
    if (parts.kafka.deadLetters.every((d) => d.pending === 0)) lines.push('dlq       no pending dead letters');
    lines.push(`lag       ${parts.kafka.lag.map((l) => `${l.topic} ${l.lag}`).join(', ')} (events not yet consumed by the ingress)`);
  } else lines.push('dlq, lag  unknown (Kafka did not answer)');
  return lines;
}
