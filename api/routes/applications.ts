// Applications and their modes over HTTP (docs/architecture.md#plan-only-applications): each application of the
// policy with its connector and whether it is armed or plan-only, and where that comes from (the
// configuration's default, or the operator who armed or disarmed it, when and why); and an
// operator's arm or disarm. The operator is the authenticated caller, never a typed name; the
// change and its audit record (`application.armed` / `application.disarmed`) commit together, and
// the workers act on it within seconds (activities/application-modes.ts), without a restart.
import type { Express } from 'express';
import { z } from 'zod';
import type { Logger } from '../../observability/logger.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import { loadPolicyDir } from '../../policy/loader.js';
import type { Config } from '../../schemas/config.js';
import { appIdSchema, type ApplicationDecl } from '../../schemas/policy.js';
import {
  applicationModes,
  effectiveApplicationMode,
  MAX_MODE_REASON,
  recordApplicationMode,
  type ApplicationMode,
  type RecordedApplicationMode,
  type Store,
} from '../../store/index.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type ApplicationRouteDeps = {
  cfg: Config;
  store: Store | undefined;
  logger: Logger;
  onRefused: RefusalHook;
  /** The policy in force (default: read from cfg.policy.dir on each request; compiled once per version). */
  policy?: () => CompiledPolicy;
};

/** One application as GET /applications shows it. */
export type ApplicationView = {
  app: string;
  connector: ApplicationDecl['connector'];
  /** The connector's configuration entry (e.g. the app of config/apps.yaml). */
  config: string;
  mode: ApplicationMode;
  /** `config`: the configuration's default (`safety.planOnly`); `store`: an operator's recorded decision. */
  source: 'config' | 'store';
  configDefault: ApplicationMode;
  /** With source `store`: the operator (null once purged), when, and their reason (when readable). */
  changedBy?: string | null;
  changedAt?: string;
  reason?: string;
};

export type ApplicationModeAnswer = { changed: boolean; application: ApplicationView };

/** An arm's or a disarm's body. Strict: an operator id (or anything else) is refused rather than dropped. */
export const modeChangeBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(MAX_MODE_REASON) });

export function applicationView(decl: ApplicationDecl, configPlanOnly: readonly string[], recorded: ReadonlyMap<string, RecordedApplicationMode>): ApplicationView {
  const effective = effectiveApplicationMode(decl.id, configPlanOnly, recorded);
  const found = recorded.get(decl.id);
  return {
    app: decl.id,
    connector: decl.connector,
    config: decl.config,
    ...effective,
    ...(found ? { changedBy: found.changedBy, changedAt: found.changedAt.toISOString(), ...(found.reason !== undefined ? { reason: found.reason } : {}) } : {}),
  };
}

class PolicyUnavailableError extends Error {
  override readonly name = 'PolicyUnavailableError';
}

export function registerApplicationRoutes(app: Express, deps: ApplicationRouteDeps): void {
  const { cfg, store, onRefused, logger } = deps;
  const planOnly = cfg.safety.planOnly;
  const policyNow = (): CompiledPolicy => {
    if (deps.policy) return deps.policy();
    let loaded: ReturnType<typeof loadPolicyDir>;
    try {
      loaded = loadPolicyDir(cfg.policy.dir);
    } catch (err) {
      throw new PolicyUnavailableError((err as Error).message);
    }
    if (!loaded.ok) throw new PolicyUnavailableError(`the policy in ${cfg.policy.dir} has ${loaded.problems.length} problem(s); see \`provisioner policy validate\``);
    return loaded.policy;
  };
  // Without the policy or the store the answer would be a guess: 503 says which is missing.
  const prerequisites = (): { policy: CompiledPolicy; store: Store } | { status: 503; reason: string; error: string } => {
    if (!store) return { status: 503, reason: 'no-store', error: 'this API runs without the governance store: the modes operators recorded cannot be read or changed' };
    try {
      return { policy: policyNow(), store };
    } catch (err) {
      if (err instanceof PolicyUnavailableError) return { status: 503, reason: 'policy-unavailable', error: err.message };
      throw err;
    }
  };

  app.get('/applications', authorize('GET /applications', onRefused), async (_req, res) => {
    const ready = prerequisites();
    if ('status' in ready) return sendError(res, ready.status, ready.reason, ready.error);
    const recorded = await applicationModes(ready.store.pool, ready.store.keys.kek);
    res.json({
      policyVersion: ready.policy.version,
      applications: [...ready.policy.applications.values()].map((decl) => applicationView(decl, planOnly, recorded)),
    });
  });

  for (const [verb, mode] of [['arm', 'armed'], ['disarm', 'plan-only']] as const) {
    app.post(`/applications/:app/${verb}`, authorize(`POST /applications/:app/${verb}`, onRefused), async (req, res) => {
      const ready = prerequisites();
      if ('status' in ready) return sendError(res, ready.status, ready.reason, ready.error);
      const id = appIdSchema.safeParse(req.params.app);
      const decl = id.success ? ready.policy.applications.get(id.data) : undefined;
      if (!decl) return sendError(res, 404, 'unknown-application', `the policy (${ready.policy.version}) has no application ${JSON.stringify(String(req.params.app).slice(0, 64))}`);
      const body = modeChangeBodySchema.safeParse(req.body ?? {});
      if (!body.success) return sendError(res, 400, 'invalid-body', `expected { reason: 1-${MAX_MODE_REASON} characters }: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).slice(0, 3).join('; ')}`);
      const operator = callerOf(res)!.employeeId;
      const configDefault = effectiveApplicationMode(decl.id, planOnly, new Map()).configDefault;
      const result = await recordApplicationMode(ready.store, { app: decl.id, mode, operatorId: operator, reason: body.data.reason, configDefault });
      logger.info({ app: decl.id, mode, caller: operator, changed: result.changed }, result.changed ? `application ${verb}ed` : `application already ${mode}`);
      const recorded = await applicationModes(ready.store.pool, ready.store.keys.kek);
      const answer: ApplicationModeAnswer = { changed: result.changed, application: applicationView(decl, planOnly, recorded) };
      res.json(answer);
    });
  }
}
