// The policy in force for a worker: the newest version applied in the store (`provisioner policy
// apply`), looked for every few seconds and compiled once per version, so a new version takes effect
// without a restart. A store that never had a version applied gets the policy folder's, recorded as
// applied by `system:startup`, so development keeps working as before.
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { loadPolicy, loadPolicyDir, readPolicyDir } from '../policy/loader.js';
import { formatProblem } from '../policy/problems.js';
import { ConfigError } from '../schemas/config.js';
import type { Store } from '../store/index.js';
import { appliedPolicyFiles, newestAppliedVersion, recordPolicyApplied, type NewestApplied } from '../store/policy-applied.js';

/** The policy folder's policy, compiled; its problems as a ConfigError (the CLI prints them and exits 2). */
export function loadPolicyOrThrow(dir: string): CompiledPolicy {
  const loaded = loadPolicyDir(dir);
  if (!loaded.ok) {
    const problems = loaded.problems.map(formatProblem);
    throw new ConfigError(`the policy in ${dir} has ${problems.length} problem(s); correct the files as listed below (\`provisioner policy validate\` shows them too)`, { details: problems });
  }
  return loaded.policy;
}

export type PolicySource = {
  /** The policy in force (never blocks: the newest version compiled so far). */
  current(): CompiledPolicy;
  /** Looks for a newer applied version now (the poll does this every few seconds). */
  refresh(): Promise<CompiledPolicy>;
  stop(): void;
};

/** A source that never changes (tests and tools that pass a compiled policy). */
export const fixedPolicy = (policy: CompiledPolicy): PolicySource => ({ current: () => policy, refresh: async () => policy, stop: () => undefined });

/**
 * The newest applied version; when none was ever applied, the policy folder's, recorded as applied
 * by `system:startup` (the baseline the first `policy apply` is compared with).
 */
export async function seedAppliedPolicy(store: Store, dir: string, logger: Logger): Promise<{ seq: number; version: string }> {
  const found = await newestAppliedVersion(store.pool);
  if (found) return found;
  const dirPolicy = loadPolicyOrThrow(dir);
  const applied = await recordPolicyApplied(store, { version: dirPolicy.version, files: readPolicyDir(dir), appliedBy: { system: 'startup' }, reason: 'the policy folder, as no version was applied yet' });
  if (applied.changed) logger.info({ policyVersion: dirPolicy.version }, 'no policy version was applied yet: the policy folder is recorded as applied by system:startup');
  return { seq: applied.seq, version: applied.version };
}

export async function followAppliedPolicy(input: {
  store: Store;
  dir: string;
  pollSeconds: number;
  logger: Logger;
  /** Called with the newest applied version after each poll (the worker starts a rollout left pending: runtime/pending-rollouts.ts). */
  onPoll?: (newest: NewestApplied | undefined) => Promise<void>;
}): Promise<PolicySource> {
  const { store, logger } = input;
  let seq = -1;
  let policy: CompiledPolicy;

  async function load(found: { seq: number; version: string }): Promise<CompiledPolicy> {
    const files = await appliedPolicyFiles(store.pool, found.version);
    const loaded = loadPolicy(files ?? []);
    // `policy apply` stores only valid versions; a row that does not compile was written by hand.
    if (!loaded.ok) throw new ConfigError(`the applied policy ${found.version} in the store does not validate (${loaded.problems.length} problem(s)); apply a valid version with \`provisioner policy apply\``);
    return loaded.policy;
  }

  const found = await seedAppliedPolicy(store, input.dir, logger);
  policy = await load(found);
  seq = found.seq;

  const follow = async (): Promise<NewestApplied | undefined> => {
    const newest = await newestAppliedVersion(store.pool);
    if (newest && newest.seq !== seq) {
      const next = await load(newest);
      logger.info({ from: policy.version, to: next.version }, 'policy version applied: planning with it from now on');
      policy = next;
      seq = newest.seq;
    }
    return newest;
  };
  const refresh = async (): Promise<CompiledPolicy> => {
    await follow();
    return policy;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    follow()
      .then((newest) => input.onPoll?.(newest))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not look for a new policy version; keeping the one in force'))
      .finally(() => {
        polling = false;
      });
  }, input.pollSeconds * 1000);
  timer.unref();
  return { current: () => policy, refresh, stop: () => clearInterval(timer) };
}
