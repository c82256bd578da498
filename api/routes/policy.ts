// Policy versions over HTTP (DESIGN.md §3): an admin applies a version (its files, validated here;
// a policy with problems is refused with them and nothing is stored), recorded with the caller as
// the one who applied it and their reason, audited (`policy.applied`); its rollout starts at once
// (workflows/policy-rollout.ts), and the workers plan with it within seconds, without a restart.
// Operators and auditors follow the rollout: GET /policy/rollouts[/:version].
import type { Express, Response } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { appliedRolloutInput, policyRolloutView, startPolicyRollout } from '../../clients/policy-rollout.js';
import type { Logger } from '../../observability/logger.js';
import { loadPolicy } from '../../policy/loader.js';
import { formatProblem } from '../../policy/problems.js';
import { seedAppliedPolicy } from '../../runtime/policy-source.js';
import type { Config } from '../../schemas/config.js';
import type { Store } from '../../store/index.js';
import { MAX_APPLY_REASON, recordPolicyApplied } from '../../store/policy-applied.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type PolicyRouteDeps = { cfg: Config; client: Client; store: Store | undefined; logger: Logger; onRefused: RefusalHook };

/** An apply's body: the policy's files (names relative to its folder) and why. Strict: an applier's name is refused, not dropped. */
export const policyApplyBodySchema = z.strictObject({
  files: z.array(z.strictObject({ name: z.string().min(1).max(300).regex(/\.ya?ml$/, 'a .yaml or .yml file'), content: z.string().max(2_000_000) })).min(1).max(1000),
  reason: z.string().trim().min(1).max(MAX_APPLY_REASON),
});

export type PolicyApplyAnswer = {
  changed: boolean;
  version: string;
  previousVersion: string | null;
  rolloutId: string;
  /** The rollout's workflow (started when the version changed). */
  workflowId?: string;
};

const versionSchema = z.string().regex(/^sha256:[0-9a-f]{16}$/, 'a policy version is sha256:<16 hex digits>');

export function registerPolicyRoutes(app: Express, deps: PolicyRouteDeps): void {
  const { cfg, client, store, logger, onRefused } = deps;
  const taskQueue = cfg.temporal.taskQueue;
  const noStore = 'this API runs without the governance store: policy versions cannot be applied or read';

  app.post('/policy/apply', authorize('POST /policy/apply', onRefused), async (req, res) => {
    if (!store) return sendError(res, 503, 'no-store', noStore);
    const body = policyApplyBodySchema.safeParse(req.body ?? {});
    if (!body.success) return sendError(res, 400, 'invalid-body', `expected { files: [{ name, content }], reason: 1-${MAX_APPLY_REASON} characters }: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).slice(0, 3).join('; ')}`);
    const loaded = loadPolicy(body.data.files);
    if (!loaded.ok) {
      return sendError(res, 422, 'invalid-policy', `policy ${loaded.version} has ${loaded.problems.length} problem(s): nothing was applied`, { version: loaded.version, problems: loaded.problems.map(formatProblem) });
    }
    const applier = callerOf(res)!.employeeId;
    // The version in force before the first apply is the policy folder's: the baseline the rollout compares with.
    await seedAppliedPolicy(store, cfg.policy.dir, logger);
    const applied = await recordPolicyApplied(store, { version: loaded.version, files: body.data.files, appliedBy: { employeeId: applier }, reason: body.data.reason });
    const answer: PolicyApplyAnswer = { changed: applied.changed, version: applied.version, previousVersion: applied.previousVersion, rolloutId: applied.rolloutId };
    if (applied.changed) {
      // Recorded before it starts: a start that fails (Temporal down) is retried by the workers, which start any version still pending.
      const { workflowId } = await startPolicyRollout(client, taskQueue, appliedRolloutInput(applied, cfg.policy));
      answer.workflowId = workflowId;
    }
    logger.info({ caller: applier, version: applied.version, previous: applied.previousVersion, changed: applied.changed }, applied.changed ? 'policy applied' : 'policy already in force');
    res.json(answer);
  });

  const view = async (version: string | undefined, res: Response): Promise<void> => {
    if (!store) return sendError(res, 503, 'no-store', noStore);
    const found = await policyRolloutView(store, taskQueue, version);
    if (!found) return sendError(res, 404, 'no-policy-applied', version ? `no policy ${version} was applied` : 'no policy version was applied yet');
    res.json(found);
  };
  app.get('/policy/rollouts', authorize('GET /policy/rollouts', onRefused), async (_req, res) => view(undefined, res));
  app.get('/policy/rollouts/:version', authorize('GET /policy/rollouts/:version', onRefused), async (req, res) => {
    const version = versionSchema.safeParse(req.params.version);
    if (!version.success) return sendError(res, 400, 'invalid-version', version.error.issues[0]!.message);
    return view(version.data, res);
  });
}
