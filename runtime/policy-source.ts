// The policy in force for a worker: the newest version applied in the store (`provisioner policy
// apply`), looked for every few seconds and compiled once per version, so a new version takes effect
// without a restart. Planning reads no store on its own: only a rollout's re-evaluation of a version
// newer than the one in force makes the source look at once (forChange). A store that never had a version applied gets the policy folder's, recorded as
// applied by `system:startup`, so development keeps working as before.
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { loadPolicy, loadPolicyDir, readPolicyDir } from '../policy/loader.js';
import { formatProblem } from '../policy/problems.js';
import { ConfigError } from '../schemas/config.js';
import type { Store } from '../store/index.js';
import { rolloutOfChange } from '../workflows/policy-rollout.js';
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
  /** The policy in force (never blocks: the newest version the poll found, compiled). */
  current(): CompiledPolicy;
  /**
   * The policy to plan a change with, and to compare with what applications hold: the policy in
   * force, unless the change is a rollout's re-evaluation of a version newer than it (its signal can
   * arrive before this worker's poll saw the version): then the store is read first, once per
   * version. Without a change id: the policy in force.
   */
  forChange(changeId?: string): Promise<CompiledPolicy>;
  stop(): void;
};

/** A source that never changes (tests and tools that pass a compiled policy). */
export const fixedPolicy = (policy: CompiledPolicy): PolicySource => ({ current: () => policy, forChange: async () => policy, stop: () => undefined });

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
  // Versions applied at or before the one in force (as far as this worker knows): a rollout of one of them is not newer.
  const notNewer = new Set<string>([found.version]);

  const follow = async (): Promise<NewestApplied | undefined> => {
    const newest = await newestAppliedVersion(store.pool);
    if (newest && newest.seq !== seq) {
      const next = await load(newest);
      logger.info({ from: policy.version, to: next.version }, 'policy version applied: planning with it from now on');
      policy = next;
      seq = newest.seq;
      notNewer.add(next.version);
    }
    return newest;
  };
  // One store read at a time: a rollout's batch of re-evaluations arriving before the poll share it.
  let following: Promise<NewestApplied | undefined> | undefined;
  const followNow = (): Promise<NewestApplied | undefined> => {
    following ??= follow().finally(() => {
      following = undefined;
    });
    return following;
  };

  const forChange = async (changeId?: string): Promise<CompiledPolicy> => {
    const rollout = changeId === undefined ? undefined : rolloutOfChange(changeId);
    if (!rollout || rollout.version === policy.version) return policy;
    // `<version>@<seq>` names its place in the order; a version's first application is newer than in force unless this worker saw it.
    const newer = rollout.seq !== undefined ? rollout.seq > seq : !notNewer.has(rollout.version);
    if (!newer) return policy;
    // A read already in flight may have started before the version was applied: then read once more.
    const joined = following !== undefined;
    await followNow();
    if (joined && policy.version !== rollout.version) await followNow();
    // Found or not, the store's newest is in force now: a version it did not make current is not newer.
    if (rollout.seq === undefined) notNewer.add(rollout.version);
    return policy;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    followNow()
      .then((newest) => input.onPoll?.(newest))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not look for a new policy version; keeping the one in force'))
      .finally(() => {
        polling = false;
      });
  }, input.pollSeconds * 1000);
  timer.unref();
  return { current: () => policy, forChange, stop: () => clearInterval(timer) };
}
