// Activity options the workflows share: the bookkeeping activities on the workflow's own queue,
// and the connector activities on the applications' queues (workflows/connector-activities.ts).
import type { ActivityOptions } from '@temporalio/workflow';

/** Store and Kafka bookkeeping (plan, record, publish, approvals): retried until it succeeds. */
export const bookkeepingOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
};

/** Asks the fence (one transaction in the store, activities/fence.ts): retried until the fence answers. */
export const fencePermitOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};

/**
 * The one retry policy of connector activities (every verb, its undo and the reads). Which errors
 * are retried is the connector's answer: each ConnectorError says `retryable`, and the activity
 * boundary (activities/failures.ts) makes a permanent one non-retryable and turns a target's
 * Retry-After into the next retry's delay. The two types named here also stop an error that
 * escaped the boundary. Outside Temporal, connectors/retry.ts does the same in process.
 */
export const connectorCallOptions: ActivityOptions = {
  // A connector call is a few HTTP/LDAP requests of at most 5 s each; a task lost with a
  // stopped worker is retried after this.
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidRequestError', 'AuthError'] },
};

/**
 * The planning reads (`readAccount` before a plan or an access request's assessment): the connector
 * calls' policy without its overall deadline. A plan cannot be made without them, and a failure
 * would end the person's workflow with its timers and gates; an application that is down for an
 * hour delays the person's change by an hour instead, as planning did when it read in process.
 */
export const planningReadOptions: ActivityOptions = {
  startToCloseTimeout: connectorCallOptions.startToCloseTimeout!,
  retry: connectorCallOptions.retry!,
};
