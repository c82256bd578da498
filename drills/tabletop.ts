// `drill run --tabletop`: the drill stops at each of its steps and says what the on-call engineer
// should look at then (which dashboard panel, which command, which workflow), and goes on when they
// press Enter. The steps are the drill's (the pipeline up, the fault, the recovery, the verdict);
// a scenario adds what its fault shows (`Scenario.tabletop`) and may stop at its own fault points.
import { createInterface } from 'node:readline/promises';
import type { Config } from '../schemas/config.js';
import { temporalUiUrl } from '../stack/temporal.js';
import type { DrillPipeline } from './drill-pipeline.js';

export type TabletopStep = { title: string; look: readonly string[] };

/** Shows a step and waits until the drill may go on. */
export type Tabletop = (step: TabletopStep) => Promise<void>;

/** No stops: a drill that is not a tabletop exercise. */
export const noTabletop: Tabletop = async () => undefined;

/** Prints each step to `out` and waits for a line (Enter) on stdin. */
export function consoleTabletop(out: NodeJS.WritableStream = process.stderr, input: NodeJS.ReadableStream = process.stdin): Tabletop {
  let n = 0;
  return async (step) => {
    n += 1;
    out.write(`\n── tabletop step ${n}: ${step.title}\n${step.look.map((l) => `   • ${l}`).join('\n')}\n`);
    const rl = createInterface({ input, output: out, terminal: false });
    try {
      await rl.question('   press Enter to go on ');
    } finally {
      rl.close();
    }
  };
}

/** Where an on-call engineer looks at a drill's pipeline: its workflows, its processes, its metrics. */
export function whereToLook(cfg: Config, pipeline: Pick<DrillPipeline, 'runDir' | 'cfg'>) {
  const ui = temporalUiUrl(cfg);
  const ns = pipeline.cfg.temporal.namespace;
  const queue = pipeline.cfg.temporal.taskQueue;
  const configFile = `${pipeline.runDir}/worker-0.yaml`;
  return {
    configFile,
    workflows: `${ui}/namespaces/${ns}/workflows?query=${encodeURIComponent(`TaskQueue="${queue}"`)}`,
    workers: `${ui}/namespaces/${ns}/task-queues/${encodeURIComponent(queue)}`,
    status: `PROVISIONER_CONFIG=${configFile} npx provisioner status`,
    logs: `${pipeline.runDir}/logs/`,
    dashboard: 'ops/grafana/provisioner-dashboard.json (import it into Grafana) or the local Prometheus (`npx provisioner stack up prometheus`, http://127.0.0.1:9090)',
  };
}

/** The drill's own steps: before the workload, the faults over, the verdict. */
export const drillSteps = {
  start(scenario: { name: string; fault: string }, look: ReturnType<typeof whereToLook>): TabletopStep {
    return {
      title: `drill ${scenario.name} is about to start: ${scenario.fault}`,
      look: [
        `Open the drill's workflows in the Temporal UI: ${look.workflows}`,
        `Its task queue's pollers (a killed worker drops out here): ${look.workers}`,
        `Open the dashboard: ${look.dashboard}; panels "Time to provision", "Steps per second by outcome", "Consumer lag by topic", "Workflow and activity schedule-to-start p99"`,
        `The pipeline's state at any time: ${look.status}`,
        `The processes' logs: ${look.logs}`,
      ],
    };
  },
  recovering(look: ReturnType<typeof whereToLook>): TabletopStep {
    return {
      title: 'the workload is published and the faults are over: the pipeline is catching up',
      look: [
        `Running workflows should fall to the people still settling: ${look.workflows}`,
        'Dashboard: consumer lag back to 0, schedule-to-start p99 falling, "Failures by application" back to 0',
        `Alerts that fired during the fault, and their runbook sections: docs/runbook.md (the alert rules are ops/prometheus/provisioner-alerts.yml)`,
      ],
    };
  },
  verdict(passed: boolean, counts: Record<string, number>, look: ReturnType<typeof whereToLook>): TabletopStep {
    return {
      title: `the oracle's verdict: ${passed ? 'PASSED' : 'FAILED'} (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`,
      look: [
        passed ? 'Nothing to repair: file the report (drills/reports/) with the incident review.' : 'The report names the people behind each count with their Temporal UI links: open their histories first.',
        `Verify the audit trail yourself: PROVISIONER_CONFIG=${look.configFile} npx provisioner audit verify`,
        'Compare the timeline (fault injected, detected, recovered) with when the alerts fired and when you noticed.',
      ],
    };
  },
};
