// `provisioner publish <file.jsonl>` and `provisioner dlq list | redrive`: commands for HRIS and ITSM teams.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { listDeadLetters, redriveDeadLetters, type LetterAddress } from '../../ingress/dead-letter-queue.js';
import { publishEventFile, signDecisionLines, topicOf, validateEventFile } from '../../ingress/event-files.js';
import { KafkaConnectionError, withKafkaConnectionProblem } from '../../kafka/client.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { CommandFailure, kafkaReason, oneLine } from '../failure.js';
import { say } from '../say.js';

/** `--topic` names a source topic; `hr` and `itsm` are short for the configured ones. */
function sourceTopic(cfg: Config, topic: string): string {
  if (topic === 'hr') return cfg.kafka.topics.hrLifecycle;
  if (topic === 'itsm') return cfg.kafka.topics.itsmRequests;
  return topic;
}

function parseAddress(text: string): LetterAddress {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`expected <partition>:<offset>, e.g. 0:12; got ${text}`);
  return { partition: Number(match[1]), offset: match[2]! };
}

export function registerEventCommands(program: Command): void {
  program
    .command('publish')
    .description('validate HR and ITSM events (CloudEvents, one per line) and publish them, keyed by subject: hr.* to hr.lifecycle, itsm.* to itsm.requests')
    .argument('<file>', 'a .jsonl file')
    .option('--dry-run', 'validate only')
    .option('--sign', "sign the file's approval decisions first, as the ITSM would (with --key, or the development ITSM key)")
    .option('--key <file>', "the ITSM's private key (JWK or PKCS#8 PEM) that --sign uses")
    .option('--kid <kid>', 'the key id the signatures carry (default: the JWK\'s kid)')
    .action(async (file: string, opts: { dryRun?: boolean; sign?: boolean; key?: string; kid?: string }) => {
      const cfg = loadConfig();
      const text = readFileSync(file, 'utf8');
      const validated = validateEventFile(opts.sign ? await signDecisionLines(cfg, text, { ...(opts.key ? { keyFile: opts.key } : {}), ...(opts.kid ? { kid: opts.kid } : {}) }) : text);
      for (const e of validated.errors) say(`${file}:${e.line}: ${e.reason.replaceAll('\n', '\n    ')}`);
      if (validated.errors.length > 0) {
        say(`publish: ${validated.errors.length} invalid line(s); nothing was published`);
        process.exitCode = 1;
        return;
      }
      if (opts.dryRun) return say(`publish: ${validated.events.length} valid event(s); dry run, nothing published`);
      const counts = await publishEventFile(cfg, validated).catch((err: unknown) => {
        const kafka = withKafkaConnectionProblem(err, cfg.kafka);
        if (kafka instanceof KafkaConnectionError) throw kafka;
        // The broker's refusal (no such topic, a message too large, ...) in one line, not a kafkajs stack.
        const topics = [...new Set(validated.events.map((e) => topicOf(cfg, e.feed)))].join(', ');
        throw new CommandFailure(`publish: Kafka at ${cfg.kafka.brokers.join(',')} did not take the events for ${topics}: ${kafkaReason(err) ?? oneLine((err as Error).message)}`, { cause: err });
      });
      const parts = (['hr', 'itsm'] as const).filter((feed) => counts[feed] > 0).map((feed) => `${counts[feed]} event(s) to ${topicOf(cfg, feed)}`);
      say(`publish: ${parts.length > 0 ? parts.join(', ') : 'no events'} published`);
    });

  program
    .command('sign-decisions')
    .description("sign the approval decisions (itsm.approval.decided) of a .jsonl file as the ITSM does, for ITSM integrators and the demo: prints the file with each decision's signature")
    .argument('<file>', 'a .jsonl file of ITSM events')
    .option('--key <file>', "the ITSM's private key: a JWK (its kid and alg are used) or a PKCS#8 PEM; default in development: the development ITSM key")
    .option('--kid <kid>', 'the key id the signatures carry (default: the JWK\'s kid)')
    .option('--out <file>', 'write the signed lines here instead of printing them')
    .action(async (file: string, opts: { key?: string; kid?: string; out?: string }) => {
      const cfg = loadConfig();
      const signed = await signDecisionLines(cfg, readFileSync(file, 'utf8'), { ...(opts.key ? { keyFile: opts.key } : {}), ...(opts.kid ? { kid: opts.kid } : {}) });
      if (opts.out) writeFileSync(opts.out, signed.endsWith('\n') ? signed : `${signed}\n`);
      else say(signed.replace(/\n$/, ''));
    });

  const dlq = program.command('dlq').description('dead letters: events that could not be processed, with the reason');
  dlq
    .command('list')
    .description('show the dead letters of a topic')
    .option('--topic <topic>', 'the source topic (hr and itsm are short for hr.lifecycle and itsm.requests)', 'hr')
    .option('--json', 'one JSON object per letter, with the original bytes')
    .action(async (opts: { topic: string; json?: boolean }) => {
      const cfg = loadConfig();
      const topic = sourceTopic(cfg, opts.topic);
      const letters = await listDeadLetters(cfg, topic);
      if (opts.json) return letters.forEach((l) => say(JSON.stringify(l)));
      if (letters.length === 0) return say(`dlq: no dead letters for ${topic}`);
      for (const l of letters) {
        say(`${l.partition}:${l.offset}  ${l.redriven ? 'redriven' : 'pending '}  key=${l.key ?? '-'}  ${l.reasonCode}  at ${l.at}${l.valueEncoding === 'sealed' ? '  (bytes sealed with a key this checkout does not have)' : ''}`);
        say(`    ${l.reason.split('\n').join('\n    ')}`);
      }
      say(`dlq: ${letters.length} letter(s), ${letters.filter((l) => !l.redriven).length} pending; replay with \`provisioner dlq redrive --topic ${opts.topic}\``);
    });
  dlq
    .command('redrive')
    .description('replay dead letters, unchanged, onto their original topic (all pending ones, or those named)')
    .option('--topic <topic>', 'the source topic (hr and itsm are short for hr.lifecycle and itsm.requests)', 'hr')
    .option('--letter <partition:offset...>', 'only these letters (see `dlq list`)')
    .action(async (opts: { topic: string; letter?: string[] }) => {
      const only = opts.letter?.map(parseAddress);
      const cfg = loadConfig();
      const { redriven, skipped } = await redriveDeadLetters(cfg, sourceTopic(cfg, opts.topic), only);
      for (const l of redriven) say(`redriven ${l.partition}:${l.offset} (key ${l.key ?? '-'}) → ${l.original.topic}`);
      say(`dlq: ${redriven.length} letter(s) redriven${skipped > 0 ? `, ${skipped} left (not selected, or sealed with a key this checkout does not have)` : ''}`);
    });
}
