// The mass-change fence over HTTP: its state, and an operator's release or reject of a held batch.
// The operator is the authenticated caller, never a typed name; every decision, taken or refused,
// is audited here (the fence workflow's validators refuse an unknown or decided batch and the same
// operator releasing twice).
import type { Express } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { decideFenceBatch, fenceState } from '../../clients/fence.js';
import type { Store } from '../../store/index.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type FenceRouteDeps = { client: Client; store: Store | undefined; onRefused: RefusalHook; taskQueue: string };

const batchIdSchema = z.string().min(1).max(200);

export function registerFenceRoutes(app: Express, deps: FenceRouteDeps): void {
  const { client, store, onRefused, taskQueue } = deps;

  app.get('/fence', authorize('GET /fence', onRefused), async (_req, res) => {
    res.json({ fence: (await fenceState(client, taskQueue)) ?? null });
  });

  for (const kind of ['release', 'reject'] as const) {
    app.post(`/fence/batches/:batchId/${kind}`, authorize(`POST /fence/batches/:batchId/${kind}`, onRefused), async (req, res) => {
      const batchId = batchIdSchema.safeParse(req.params.batchId);
      if (!batchId.success) return sendError(res, 400, 'invalid-batch-id', 'a batch id is 1-200 characters');
      const operator = callerOf(res)!.employeeId;
      const audit = (action: string, reason: string) =>
        store?.audit({ actor: { type: 'person', employeeId: operator }, action, reason, changes: [{ op: `fence.${kind}`, outcome: action.split('.').pop()! }] });
      try {
        const batch = await decideFenceBatch(client, taskQueue, kind, batchId.data, operator);
        await audit(`fence.${kind === 'release' ? 'released' : 'rejected'}`, `batch ${batchId.data}`);
        res.json({ batch });
      } catch (err) {
        // A refused attempt (unknown batch, the same operator twice) is audited by the API that received it.
        await audit('fence.refused', `${kind} of batch ${batchId.data} refused`);
        sendError(res, 409, 'fence-refused', (err as Error).message);
      }
    });
  }
}
