// What a drill scenario is: a fault injected at random points of a seeded workload, and the
// evidence, read afterwards from the servers, that the fault really hit.
import type { Logger } from '../observability/logger.js';
import type { Config } from '../schemas/config.js';
import type { DrillConnectorSettings, DrillPipeline } from './drill-pipeline.js';
import type { DrillQuarantine } from './drill-policy.js';
import type { Behaviour } from '../targets/profiles.js';
import type { LedgerEntry, Workload } from './workload.js';

export type TimelineEntry = { at: number; what: string };

export type ScenarioContext = {
  pipeline: DrillPipeline;
  logger: Logger;
  /** Seeded: the same seed injects at the same points. */
  random: () => number;
  /** Resolves when the workload has been published. */
  published: Promise<void>;
  /** The run's expected length (the workload at its rate), to spread the faults over. */
  expectedMs: number;
  timeline: TimelineEntry[];
  /** What the workload publishes, per person (e.g. how many events each should have received). */
  ledger: ReadonlyMap<string, LedgerEntry>;
  options: { kills?: number };
  /** The published workload: a scenario that publishes events of its own adds them to its ledger. */
  workload: Workload;
  /**
   * A tabletop stop at one of the scenario's fault points (`drill run --tabletop`): shows `what`
   * happened with the scenario's `tabletop` lines and waits for the on-call engineer; at once otherwise.
   */
  tabletop(what: string): Promise<void>;
};

export type Evidence = Record<string, number | string>;

export type Scenario = {
  name: string;
  /** One line: the fault, for `drill list`. */
  fault: string;
  defaults: { joiners: number; rate: number; leaverShare: number };
  /** Refuses, before anything starts, parameters the scenario could prove nothing with (e.g. too few joiners for the fence to trip). */
  checkParameters?(parameters: { joiners: number; rate: number }): void;
  /** Sets the fault's stage before the workload's first event is published (e.g. which joiners an app will refuse). */
  arm?(ctx: ScenarioContext): Promise<void>;
  /** Injects the fault during the workload; resolves once the last injection has recovered. */
  inject(ctx: ScenarioContext): Promise<void>;
  /** What the servers show of the fault (e.g. workflow tasks that timed out after the kills). */
  evidence(ctx: ScenarioContext, people: readonly string[]): Promise<Evidence>;
  /** Whether the evidence shows the fault hit. */
  hit(evidence: Evidence): boolean;
  /**
   * The pipeline the scenario needs (e.g. the example policy's fence, a quarantine probe
   * time-compressed, drill apps that behave as some real SCIM servers do, an LDAP application in the
   * drill's subtree of the directory its base's `ldap` names); absent: the default.
   */
  pipeline?: { fence?: 'sized-to-workload' | 'example'; quarantine?: DrillQuarantine; appBehaviour?: Partial<Behaviour>; connector?: DrillConnectorSettings; directory?: boolean };
  /**
   * Readies what the scenario runs on before its pipeline (e.g. a three-broker cluster): the base
   * configuration the pipeline takes, and what to undo after the drill.
   */
  prepare?(base: Config, say: (line: string) => void): Promise<{ base: Config; undo(): Promise<void> }>;
  /** What the on-call engineer should look at when the fault hits (dashboard panels, commands), for `--tabletop`. */
  tabletop?: readonly string[];
  /**
   * Why this drill runs with no other beside it in `drill all` (it kills something the others share,
   * such as a cluster broker, or measures an objective another drill's load would spoil); absent: it
   * may run beside another, each on its own pipeline.
   */
  runsAlone?: string;
  /** The scenario's own checks on its evidence, each named (e.g. "the fence held"); all must pass. */
  checks?(evidence: Evidence): Record<string, boolean>;
};
