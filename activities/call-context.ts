// The one way an activity builds a connector's call context: the step's idempotency key, the
// workflow id to correlate the target's logs with, and the activity's cancellation signal.
import { Context } from '@temporalio/activity';
import type { CallContext } from '../connectors/contract.js';

/** The workflow that scheduled the running activity (the activity id when it has none). */
export function activityWorkflowId(): string {
  const { info } = Context.current();
  return info.workflowExecution?.workflowId ?? info.activityId;
}

export function callContext(idempotencyKey: string): CallContext {
  return { idempotencyKey, correlationId: activityWorkflowId(), signal: Context.current().cancellationSignal };
}
