// The identity workflow's activities, proxied once with their timeouts and retries (the options
// are part of every ScheduleActivityTask command: changing them changes the history).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

export const { planChange, recordChange, publishOutcome, resolveApprovalChains, recordApprovalEvents, recordRequestGrant, endRequestGrants } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

// Asks the fence (update-with-start on fence/<taskQueue>); retried until the fence answers.
export const { requestFencePermit } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
