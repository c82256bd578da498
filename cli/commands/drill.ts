// `provisioner drill list | run <scenario> | all`: failover drills, each in its own pipeline on the
// stack's servers (drills/), with a report in drills/reports/ (Markdown and JSON). A drill that
// fails its oracle, or whose fault did not hit, exits 1.
import path from 'node:path';
import type { Command } from 'commander';
import { onCluster } from '../../drills/drill-cluster.js';
import { runDrill, type DrillOptions } from '../../drills/run-drill.js';
import { renderMarkdown, writeReport, type DrillReport } from '../../drills/report.js';
import { consoleTabletop } from '../../drills/tabletop.js';
import { scenarioNamed, scenarios } from '../../drills/scenarios/index.js';
import { createLogger } from '../../observability/logger.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { CommandFailure } from '../failure.js';
import { say } from '../say.js';

type RunFlags = { joiners?: string; rate?: string; seed?: string; kills?: string; reports: string; tabletop?: boolean; cluster: boolean; parallel?: string };

const int = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CommandFailure(`${flag} must be a positive number, not ${value}`);
  return n;
};

function optionsOf(flags: RunFlags): DrillOptions {
  const joiners = int(flags.joiners, '--joiners');
  const rate = int(flags.rate, '--rate');
  const seed = int(flags.seed, '--seed');
  const kills = int(flags.kills, '--kills');
  return {
    ...(joiners ? { joiners } : {}),
    ...(rate ? { rate } : {}),
    ...(seed ? { seed } : {}),
    ...(kills ? { kills } : {}),
    ...(flags.tabletop ? { tabletop: consoleTabletop() } : {}),
    cluster: flags.cluster,
    say: (line) => process.stderr.write(`${line}\n`),
  };
}

async function runAndReport(names: readonly string[], flags: RunFlags): Promise<DrillReport[]> {
  const cfg = loadConfig();
  const logger = createLogger({ level: 'warn', name: 'provisioner-drill' });
  const reports: DrillReport[] = [];
  const aborted: string[] = [];
  const sayErr = (line: string) => process.stderr.write(`${line}\n`);
  // Several drills share one cluster start (each drill stops only a cluster it started itself).
  const cluster = flags.cluster && names.length > 1 ? await onCluster(cfg, sayErr) : undefined;
  const one = async (name: string): Promise<void> => {
    try {
      const report = await runDrill(cfg, logger, scenarioNamed(name), optionsOf(flags));
      const files = writeReport(path.resolve(flags.reports), report);
      say(renderMarkdown(report));
      say(`report: ${files.markdown} and ${files.json}`);
      reports.push(report);
    } catch (err) {
      // A drill that could not run to its report fails; the others still run.
      if (names.length === 1) throw err;
      sayErr(`drill ${name}: stopped before its report: ${err instanceof Error ? err.message : String(err)}`);
      aborted.push(name);
    }
  };
  // Up to `lanes` drills at once, each on its own pipeline; a drill that runs alone waits for the
  // others to finish and holds the next back. A tabletop runs one at a time (one engineer, one prompt).
  const lanes = flags.tabletop ? 1 : (int(flags.parallel, '--parallel') ?? 1);
  const running = new Set<Promise<void>>();
  try {
    for (const name of names) {
      const alone = scenarioNamed(name).runsAlone !== undefined;
      while (running.size > 0 && (alone || running.size >= lanes)) await Promise.race(running);
      const run: Promise<void> = one(name).finally(() => running.delete(run));
      running.add(run);
      if (alone) await run;
    }
    await Promise.all(running);
  } finally {
    await cluster?.undo();
  }
  const failed = [...reports.filter((r) => !r.passed).map((r) => r.scenario), ...aborted.map((name) => `${name} (no report: it stopped)`)];
  if (failed.length > 0) throw new CommandFailure(`drill failed: ${failed.join(', ')} (see the reports)`);
  return reports;
}

export function registerDrillCommands(program: Command): void {
  const drill = program.command('drill').description('failover drills in their own pipeline, with a report (drills/reports/)');
  drill
    .command('list')
    .description('the drills and their faults')
    .action(() => say(scenarios.map((s) => `${s.name.padEnd(16)} ${s.fault} (default ${s.defaults.joiners} joiners at ${s.defaults.rate}/s${s.runsAlone ? `; runs alone in drill all: ${s.runsAlone}` : ''})`).join('\n')));
  const withFlags = (c: Command) =>
    c
      .option('--joiners <n>', 'joiners in the workload (a share of them leave later)')
      .option('--rate <n>', 'events published per second')
      .option('--seed <n>', 'the seed of the workload and of the fault points', '1')
      .option('--kills <n>', 'worker-kill, ingress-kill: how many SIGKILLs')
      .option('--no-cluster', "on the stack's one broker instead of the three-broker cluster (`stack up --cluster`, started for the drills when it is not up)")
      .option('--tabletop', 'stop at each step of the drill with what the on-call engineer should look at; Enter goes on')
      .option('--reports <dir>', 'where the reports go', path.join(projectRoot, 'drills', 'reports'));
  withFlags(drill.command('run <scenario>').description('run one drill')).action(async (name: string, flags: RunFlags) => {
    await runAndReport([name], flags);
  });
  withFlags(drill.command('all').description('run every drill in turn (or several at once: --parallel)'))
    .option('--parallel <n>', 'drills at once, each on its own pipeline, for a machine with the cores for it (worker-kill, broker-kill and leaver-surge always run alone)', '1')
    .action(async (flags: RunFlags) => {
      await runAndReport(scenarios.map((s) => s.name), flags);
    });
}
