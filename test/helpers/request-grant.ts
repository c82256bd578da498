// A time-bound grant as people get one: an access request from the ITSM on the pipeline's
// itsm.requests topic, for an entitlement its policy grants without approval. The identity workflow
// applies a grant only when the store holds the request's assessment (issue 18), so a test that
// needs a grant asks for it this way rather than signalling the workflow.
import { accessRequested } from '../integration/fixtures/itsm-events.js';
import { getState, identityWorkflowId, type GrantTimer } from '../../workflows/messages.js';
import { eventually, type Pipeline } from './pipeline.js';

/** Requests `app:entitlementId` for `duration` (ISO 8601) and resolves with the grant once the person's workflow holds it. */
export async function grantThroughRequest(p: Pipeline, request: { employeeId: string; ticketId: string; app: string; entitlementId: string; duration: string }): Promise<GrantTimer> {
  const { employeeId, ticketId, app, entitlementId, duration } = request;
  const event = accessRequested(ticketId, employeeId, { data: { entitlement: { app, id: entitlementId }, duration, justification: 'needed for the incident' } });
  await p.produceItsm([{ key: employeeId, value: JSON.stringify(event) }]);
  const person = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
  return eventually(`${employeeId}: the grant of ticket ${ticketId}`, async () => {
    const state = await person.query(getState).catch(() => undefined);
    return state?.grants?.find((g) => g.ticketId === ticketId);
  });
}
