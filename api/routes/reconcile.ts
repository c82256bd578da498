// Reconciliation over HTTP: an operator starts an application's reconciliation now (optionally a
// dry run), and operators and auditors read runs and the drift they found. The operator who asks
// is the authenticated caller; the ask is audited here. Findings carry ids (employee ids, account
// handles, entitlement ids), never names or e-mails.
import type { Express } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { startReconcile, startReconcileOnce } from '../../clients/reconcile.js';
import { appIdSchema } from '../../schemas/policy.js';
import { driftKinds } from '../../schemas/reconcile.js';
import type { Store } from '../../store/index.js';
import { getRun, listFindings, listRuns } from '../../store/reconcile.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type ReconcileRouteDeps = { client: Client; store: Store | undefined; onRefused: RefusalHook; taskQueue: string };

const startBodySchema = z.strictObject({ dryRun: z.boolean().optional() });
const driftQuerySchema = z.strictObject({
  app: appIdSchema.optional(),
  kind: z.enum(driftKinds).optional(),
  run: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});
const runsQuerySchema = z.strictObject({ app: appIdSchema.optional(), id: z.string().min(1).max(500).optional(), limit: z.coerce.number().int().min(1).max(500).optional() });

export function registerReconcileRoutes(app: Express, deps: ReconcileRouteDeps): void {
  const { client, store, onRefused, taskQueue } = deps;
  const needStore = (res: Parameters<typeof sendError>[0]): Store | undefined => {
    if (!store) sendError(res, 503, 'no-store', 'the API has no governance store configured');
    return store;
  };

  app.post('/reconcile/:app', authorize('POST /reconcile/:app', onRefused), async (req, res) => {
    const appId = appIdSchema.safeParse(req.params.app);
    if (!appId.success) return sendError(res, 400, 'invalid-app', 'an application id is a lower-case name: letters, digits and dashes');
    const body = startBodySchema.safeParse(req.body ?? {});
    if (!body.success) return sendError(res, 400, 'invalid-body', z.prettifyError(body.error));
    const operator = callerOf(res)!.employeeId;
    const input = { app: appId.data, ...(body.data.dryRun ? { dryRun: true } : {}) };
    // One run of an application at a time: a second ask is told which run is going on.
    const start = store ? await startReconcileOnce(client, store.pool, taskQueue, input) : { started: true, runId: await startReconcile(client, taskQueue, input) };
    if (!start.started) return sendError(res, 409, 'reconcile-running', `a reconciliation of ${appId.data} is running: ${start.runId}; follow it with provisioner drift --run ${start.runId}`, { runId: start.runId });
    const { runId } = start;
    await store?.audit({ actor: { type: 'person', employeeId: operator }, action: 'reconcile.requested', reason: `${body.data.dryRun ? 'dry run' : 'run'} of ${appId.data}`, changes: [{ op: 'reconcile', app: appId.data }] });
    res.status(202).json({ runId });
  });

  app.get('/reconcile/runs', authorize('GET /reconcile/runs', onRefused), async (req, res) => {
    const q = runsQuerySchema.safeParse(req.query);
    if (!q.success) return sendError(res, 400, 'invalid-query', z.prettifyError(q.error));
    const s = needStore(res);
    if (!s) return;
    if (q.data.id) {
      const run = await getRun(s.pool, q.data.id);
      return run ? res.json({ runs: [run] }) : sendError(res, 404, 'no-run', `no reconciliation run ${q.data.id}`);
    }
    res.json({ runs: await listRuns(s.pool, { ...(q.data.app ? { app: q.data.app } : {}), ...(q.data.limit ? { limit: q.data.limit } : {}) }) });
  });

  app.get('/drift', authorize('GET /drift', onRefused), async (req, res) => {
    const q = driftQuerySchema.safeParse(req.query);
    if (!q.success) return sendError(res, 400, 'invalid-query', z.prettifyError(q.error));
    const s = needStore(res);
    if (!s) return;
    const findings = await listFindings(s.pool, { ...(q.data.app ? { app: q.data.app } : {}), ...(q.data.kind ? { kind: q.data.kind } : {}), ...(q.data.run ? { runId: q.data.run } : {}), ...(q.data.limit ? { limit: q.data.limit } : {}) });
    res.json({ findings });
  });
}
