// Command-line flags of bench/run.ts.
import { seededRandom } from '../../drills/seeded-random.js';
import { parseArgs } from 'node:util';

export type BenchArgs = {
  joiners: number;
  apps: number;
  /** Joiners/s of the latency phase; default: half the measured maximum sustainable rate. */
  rate: number | undefined;
  /** Seconds of each open-loop step (max-rate search) and of the latency phase. */
  duration: number;
  seed: number;
  json: string | undefined;
  leavers: number;
  /** Per-app task-queue rate limit (activities/s) for our worker and the bare floor alike. */
  appRps: number;
  /** Skip the maximum-sustainable-rate search (then --rate is required for the latency phase). */
  skipSearch: boolean;
  /** Joiners published at once for the leavers-during-a-surge phase; default --joiners. */
  surgeJoiners: number;
  /** Only the leaver phases (after provisioning 2 × --leavers people): no floors, search or steady phase. */
  leaversOnly: boolean;
  /** The log level of the bench's own worker, ingress and apps (default silent: logs would skew the figures). */
  logLevel: string;
};

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      joiners: { type: 'string', default: '300' },
      apps: { type: 'string', default: '3' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '15' },
      seed: { type: 'string', default: '1' },
      json: { type: 'string' },
      leavers: { type: 'string', default: '20' },
      'app-rps': { type: 'string', default: '1000' },
      'skip-search': { type: 'boolean', default: false },
      'surge-joiners': { type: 'string' },
      'leavers-only': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'silent' },
    },
    strict: true,
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${v})`);
    return n;
  };
  const args: BenchArgs = {
    joiners: num('joiners', values.joiners, 1),
    apps: num('apps', values.apps, 1),
    rate: values.rate === undefined ? undefined : num('rate', values.rate, 0.1),
    duration: num('duration', values.duration, 1),
    seed: num('seed', values.seed, 0),
    json: values.json,
    leavers: num('leavers', values.leavers, 0),
    appRps: num('app-rps', values['app-rps'], 1),
    skipSearch: values['skip-search'] ?? false,
    surgeJoiners: values['surge-joiners'] === undefined ? num('joiners', values.joiners, 1) : num('surge-joiners', values['surge-joiners'], 1),
    leaversOnly: values['leavers-only'] ?? false,
    logLevel: values['log-level'] ?? 'silent',
  };
  if (args.leaversOnly && args.leavers < 1) throw new Error('--leavers-only needs --leavers ≥ 1');
  if (args.skipSearch && args.rate === undefined) throw new Error('--skip-search needs --rate');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(args.logLevel)) throw new Error(`--log-level must be one of fatal, error, warn, info, debug, trace, silent (got ${args.logLevel})`);
  return args;
}

/** A small deterministic PRNG (mulberry32) for the generated people. */
export const rng = seededRandom;
