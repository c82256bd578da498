// What Temporal answers when no worker takes a query or an update in time. Depending on how long the
// task queue has had no poller and on who gives up first, that is the client's DEADLINE_EXCEEDED, the
// server's FAILED_PRECONDITION "no poller seen for task queue recently", or a CANCELLED stream; all
// three mean the same to a caller: the workflow exists and nobody is there to answer it.
import { isGrpcCancelledError, isGrpcDeadlineError, isGrpcServiceError } from '@temporalio/client';

/** True when the error says that no worker answered the workflow in time. */
export function noWorkerAnswered(err: unknown): boolean {
  return isGrpcDeadlineError(err) || isGrpcCancelledError(err) || noRecentPoller(err);
}

/** gRPC's FAILED_PRECONDITION (`@grpc/grpc-js` is the SDK's dependency, not ours). */
const FAILED_PRECONDITION = 9;

function noRecentPoller(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e) && e.code === FAILED_PRECONDITION && /no poller seen/i.test(e.details)) return true;
  }
  return false;
}
