// A drill's report, as a team files it: Markdown for people, JSON for tools, both in drills/reports/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DrillMetrics } from './drill-metrics.js';
import type { OracleResult } from './oracle.js';
import type { Evidence, TimelineEntry } from './scenario.js';

export type DrillReport = {
  scenario: string;
  fault: string;
  drillId: string;
  startedAt: string;
  parameters: { joiners: number; events: number; rate: number; seed: number; workers: number; ingresses: number; brokers: number };
  timeline: TimelineEntry[];
  /** From the last fault's recovery to quiescence (every person's last event applied), ms. */
  recoveryMs: number | undefined;
  /** From the first event published to quiescence, ms. */
  durationMs: number;
  /** Sends of the drill's publisher that failed and went through on a later try (a broker down). */
  publishing: { stalls: number; longestStallMs: number };
  quiescent: boolean;
  oracle: OracleResult;
  evidence: Evidence;
  faultHit: boolean;
  /** The scenario's own checks (scenario.checks), each passed or not. */
  checks?: Record<string, boolean>;
  passed: boolean;
  /** The key series over the drill's run, from the local Prometheus (or how to get them). */
  metrics: DrillMetrics;
  /** Temporal UI links of people the oracle named. */
  links: string[];
};

const iso = (ms: number) => new Date(ms).toISOString();

export function renderMarkdown(r: DrillReport): string {
  const c = r.oracle.counts;
  const row = (name: string, n: number) => `| ${name} | ${n} | ${n === 0 ? 'pass' : '**FAIL**'} |`;
  return [
    `# Drill ${r.scenario}: ${r.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `- Fault: ${r.fault}`,
    `- Drill ${r.drillId}, started ${r.startedAt}; ${r.parameters.joiners} joiners, ${r.parameters.events} events at ${r.parameters.rate}/s (seed ${r.parameters.seed}); ${r.parameters.workers} workers, ${r.parameters.ingresses} ingresses, ${r.parameters.brokers === 1 ? 'one Kafka broker' : `${r.parameters.brokers} Kafka brokers`}`,
    `- Publisher: ${r.publishing.stalls === 0 ? 'every send went through the first time' : `${r.publishing.stalls} sends stalled and went through later (longest ${(r.publishing.longestStallMs / 1000).toFixed(1)} s)`}`,
    `- Quiescent: ${r.quiescent ? 'yes' : 'NO (timed out)'} after ${(r.durationMs / 1000).toFixed(1)} s; recovery after the last fault: ${r.recoveryMs === undefined ? 'n/a' : `${(r.recoveryMs / 1000).toFixed(1)} s`}`,
    '',
    '## Oracle',
    '',
    '| count | value | |',
    '|---|---|---|',
    row('duplicate accounts', c.duplicates),
    row('missing accounts or access', c.missing),
    row('access that should be gone', c.shouldBeGone),
    row('lost events', c.lost),
    row('unaudited changes', c.unaudited),
    `| audit chain | ${r.oracle.chain.verified} records | ${r.oracle.chain.ok ? 'pass' : `**FAIL** (${r.oracle.chain.problem})`} |`,
    '',
    `${r.oracle.people} people, ${r.oracle.accounts} accounts read from the applications.`,
    ...Object.entries(r.oracle.examples).filter(([, who]) => who.length > 0).map(([what, who]) => `- ${what}: ${who.join(', ')}`),
    '',
    '## Evidence that the fault hit',
    '',
    ...Object.entries(r.evidence).map(([k, v]) => `- ${k}: ${v}`),
    `- Fault hit: ${r.faultHit ? 'yes' : '**NO**: the drill proves nothing'}`,
    ...(r.checks ? ['', '## Scenario checks', '', '| check | |', '|---|---|', ...Object.entries(r.checks).map(([name, ok]) => `| ${name} | ${ok ? 'pass' : '**FAIL**'} |`)] : []),
    '',
    '## Metrics during the drill',
    '',
    ...r.metrics.lines.map((l) => (r.metrics.prometheus ? `    ${l}` : l)),
    '',
    '## Timeline',
    '',
    ...r.timeline.map((t) => `- ${iso(t.at)} ${t.what}`),
    ...(r.links.length > 0 ? ['', '## People to look at (Temporal UI)', '', ...r.links.map((l) => `- ${l}`)] : []),
    '',
  ].join('\n');
}

export function writeReport(dir: string, r: DrillReport): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${r.startedAt.slice(0, 10)}-${r.scenario}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(r));
  return { markdown: `${base}.md`, json: `${base}.json` };
}
