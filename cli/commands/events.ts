// `provisioner publish <file.jsonl>` and `provisioner dlq list | redrive`: commands for HRIS teams.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { listDeadLetters, redriveDeadLetters, type LetterAddress } from '../../ingress/dead-letter-queue.js';
import { publishHrEvents, validateJsonl } from '../../ingress/publisher.js';
import { loadConfig } from '../../schemas/config.js';
import { say } from '../say.js';


function parseAddress(text: string): LetterAddress {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`expected <partition>:<offset>, e.g. 0:12; got ${text}`);
  return { partition: Number(match[1]), offset: match[2]! };
}

export function registerEventCommands(program: Command): void {
  program
    .command('publish')
    .description('validate HR events (CloudEvents, one per line) and publish them to hr.lifecycle, keyed by employee id')
    .argument('<file>', 'a .jsonl file')
    .option('--dry-run', 'validate only')
    .action(async (file: string, opts: { dryRun?: boolean }) => {
      const cfg = loadConfig();
      const validated = validateJsonl(readFileSync(file, 'utf8'));
      for (const e of validated.errors) say(`${file}:${e.line}: ${e.reason.replaceAll('\n', '\n    ')}`);
      if (validated.errors.length > 0) {
        say(`publish: ${validated.errors.length} invalid line(s); nothing was published`);
        process.exitCode = 1;
        return;
      }
      if (opts.dryRun) return say(`publish: ${validated.events.length} valid event(s); dry run, nothing published`);
      const n = await publishHrEvents(cfg, validated);
      say(`publish: ${n} event(s) published to ${cfg.kafka.topics.hrLifecycle}`);
    });

  const dlq = program.command('dlq').description('dead letters: events that could not be processed, with the reason');
  dlq
    .command('list')
    .description('show the dead letters of a topic')
    .option('--topic <topic>', 'the source topic', 'hr.lifecycle')
    .option('--json', 'one JSON object per letter, with the original bytes')
    .action(async (opts: { topic: string; json?: boolean }) => {
      const letters = await listDeadLetters(loadConfig(), opts.topic);
      if (opts.json) return letters.forEach((l) => say(JSON.stringify(l)));
      if (letters.length === 0) return say(`dlq: no dead letters for ${opts.topic}`);
      for (const l of letters) {
        say(`${l.partition}:${l.offset}  ${l.redriven ? 'redriven' : 'pending '}  key=${l.key ?? '-'}  ${l.reasonCode}  at ${l.at}${l.valueEncoding === 'sealed' ? '  (bytes sealed with a key this checkout does not have)' : ''}`);
        say(`    ${l.reason.split('\n').join('\n    ')}`);
      }
      say(`dlq: ${letters.length} letter(s), ${letters.filter((l) => !l.redriven).length} pending; replay with \`provisioner dlq redrive\``);
    });
  dlq
    .command('redrive')
    .description('replay dead letters, unchanged, onto their original topic (all pending ones, or those named)')
    .option('--topic <topic>', 'the source topic', 'hr.lifecycle')
    .option('--letter <partition:offset...>', 'only these letters (see `dlq list`)')
    .action(async (opts: { topic: string; letter?: string[] }) => {
      const only = opts.letter?.map(parseAddress);
      const { redriven, skipped } = await redriveDeadLetters(loadConfig(), opts.topic, only);
      for (const l of redriven) say(`redriven ${l.partition}:${l.offset} (key ${l.key ?? '-'}) → ${l.original.topic}`);
      say(`dlq: ${redriven.length} letter(s) redriven${skipped > 0 ? `, ${skipped} left (not selected, or sealed with a key this checkout does not have)` : ''}`);
    });
}
