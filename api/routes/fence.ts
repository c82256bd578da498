// The mass-change fence over HTTP: its state (from the store: it answers during a burst), and an
// operator's release or reject of a held batch or of one person in it (`?person=<employeeId>` or
// `?request=<requestId>`). The operator is the authenticated caller, never a typed name; a decision
// is audited in the store's transaction that makes it, and a refused one (unknown or decided batch,
// the same operator twice, nobody by that id held) is audited here.
import type { Express } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { decideFenceBatch, fenceState } from '../../clients/fence.js';
import { employeeIdSchema } from '../../schemas/events.js';
import { FenceRefusedError, type FencePerson, type Store } from '../../store/index.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';

export type FenceRouteDeps = { client: Client; store: Store | undefined; onRefused: RefusalHook; taskQueue: string };

const batchIdSchema = z.string().min(1).max(200);
const requestIdSchema = z.string().min(1).max(200);
const limitSchema = z.coerce.number().int().min(1).max(100_000);

export function registerFenceRoutes(app: Express, deps: FenceRouteDeps): void {
  const { client, store, onRefused, taskQueue } = deps;

  app.get('/fence', authorize('GET /fence', onRefused), async (req, res) => {
    if (!store) return sendError(res, 503, 'no-store', 'the fence lives in the store: this API runs without one');
    const limit = req.query.limit === undefined ? undefined : limitSchema.safeParse(req.query.limit);
    if (limit && !limit.success) return sendError(res, 400, 'invalid-limit', 'limit is how many held people to list: 1-100000');
    res.json({ fence: (await fenceState(store, taskQueue, limit ? { limit: limit.data } : {})) ?? null });
  });

  for (const kind of ['release', 'reject'] as const) {
    app.post(`/fence/batches/:batchId/${kind}`, authorize(`POST /fence/batches/:batchId/${kind}`, onRefused), async (req, res) => {
      if (!store) return sendError(res, 503, 'no-store', 'the fence lives in the store: this API runs without one');
      const batchId = batchIdSchema.safeParse(req.params.batchId);
      if (!batchId.success) return sendError(res, 400, 'invalid-batch-id', 'a batch id is 1-200 characters');
      const person = personOf(req.query);
      if (person && 'refused' in person) return sendError(res, 400, 'invalid-person', person.refused);
      const operator = callerOf(res)!.employeeId;
      try {
        const decided = await decideFenceBatch({ store, client }, { taskQueue, kind, batchId: batchId.data, operator, ...(person ? { person: person.person } : {}) });
        res.json({ batch: decided.batch, decided: decided.decided });
      } catch (err) {
        if (!(err instanceof FenceRefusedError)) throw err;
        // A refused attempt writes nothing in the fence: the API that received it audits it.
        await store.audit({ actor: { type: 'person', employeeId: operator }, action: 'fence.refused', reason: `${kind} of ${person ? 'one person in ' : ''}batch ${batchId.data} refused`, changes: [{ op: `fence.${kind}`, outcome: 'refused' }] });
        sendError(res, 409, 'fence-refused', `fence ${kind} refused: ${err.message}`);
      }
    });
  }
}

/** The one person a decision names (`?person=<employeeId>` or `?request=<requestId>`), or why the query cannot name one. */
function personOf(query: Record<string, unknown>): { person: FencePerson } | { refused: string } | undefined {
  if (query.person === undefined && query.request === undefined) return undefined;
  if (query.person !== undefined && query.request !== undefined) return { refused: 'name one person: person=<employeeId> or request=<requestId>, not both' };
  if (query.person !== undefined) {
    const id = employeeIdSchema.safeParse(query.person);
    return id.success ? { person: { employeeId: id.data } } : { refused: `person must be one employee id: ${id.error.issues[0]?.message ?? 'not a string'}` };
  }
  const id = requestIdSchema.safeParse(query.request);
  return id.success ? { person: { requestId: id.data } } : { refused: 'request must be one request id of 1-200 characters' };
}
