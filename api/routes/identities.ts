// An operator's asks of one person's workflow: try the change waiting for its retry now
// (`provisioner retry`), or accept the held snapshot as the new sequence baseline after an HRIS
// renumbering (`provisioner identity resequence`). The operator is the authenticated caller; every
// ask, taken or refused, is audited here, with the operator's reason sealed (it may name people).
import type { Express } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { requestResequence, requestRetry } from '../../clients/identity.js';
import { employeeIdSchema } from '../../schemas/events.js';
import { personText } from '../../schemas/text.js';
import type { Store } from '../../store/index.js';
import { authorize, callerOf, sendError, type RefusalHook } from '../auth.js';
import { noWorkerAnswered } from '../../clients/unanswered.js';

export type IdentityRouteDeps = { client: Client; store: Store | undefined; onRefused: RefusalHook; queryTimeoutMs: number };

const askBodySchema = z.object({ reason: personText(500, 1).optional() });

const asks = {
  retry: { ask: requestRetry, done: 'identity.retry-requested', nothing: 'no change or scheduled step of this person waits for a retry (see `provisioner status <employeeId>`)' },
  resequence: { ask: requestResequence, done: 'identity.resequenced', nothing: 'no snapshot of this person is held (see `provisioner status <employeeId>`)' },
} as const;

export function registerIdentityRoutes(app: Express, deps: IdentityRouteDeps): void {
  const { client, store, onRefused, queryTimeoutMs } = deps;
  for (const kind of ['retry', 'resequence'] as const) {
    app.post(`/identities/:employeeId/${kind}`, authorize(`POST /identities/:employeeId/${kind}`, onRefused), async (req, res) => {
      const id = employeeIdSchema.safeParse(req.params.employeeId);
      if (!id.success) return sendError(res, 400, 'invalid-employee-id', id.error.issues[0]?.message ?? 'invalid employee id');
      const body = askBodySchema.safeParse(req.body ?? {});
      if (!body.success) return sendError(res, 400, 'invalid-body', `the body is { "reason"?: 1-500 characters }: ${z.prettifyError(body.error)}`);
      const employeeId = id.data;
      const operator = callerOf(res)!.employeeId;
      const { reason } = body.data;
      const { ask, done, nothing } = asks[kind];
      const audit = (action: string, why: string) =>
        store?.audit({ actor: { type: 'person', employeeId: operator }, action, reason: why, subject: { employeeId }, changes: [{ op: `identity.${kind}`, outcome: action.split('.').pop()! }], ...(reason ? { personal: { reason } } : {}) });
      try {
        const asked = await client.withDeadline(Date.now() + queryTimeoutMs, () => ask(client, employeeId, { operator, ...(reason ? { reason } : {}) }));
        if (asked.waiting === undefined) {
          await audit(`identity.${kind}-refused`, nothing);
          return sendError(res, 409, `nothing-to-${kind}`, nothing);
        }
        await audit(done, `${kind} of ${asked.summary ?? 'what waited'}`.slice(0, 2000));
        res.status(202).json({ employeeId, workflowId: asked.workflowId, [kind === 'retry' ? 'retrying' : 'accepted']: asked.waiting });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return sendError(res, 404, 'identity-not-found', `no identity workflow for ${employeeId}`);
        if (noWorkerAnswered(err)) return sendError(res, 504, 'query-timeout', `the identity workflow did not answer within ${queryTimeoutMs} ms (is a worker running?)`);
        throw err;
      }
    });
  }
}
