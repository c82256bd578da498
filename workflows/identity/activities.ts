// The identity workflow's bookkeeping activities, proxied once with the shared options
// (workflows/activity-options.ts). Its connector calls and planning reads go through
// workflows/connector-activities.ts and workflows/plan-change.ts.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { bookkeepingOptions, fencePermitOptions } from '../activity-options.js';

export const { recordChange, publishOutcome, resolveApprovalChains, recordApprovalEvents, recordRequestGrant, endRequestGrants, checkRequestGrant, readFenceDecision } = proxyActivities<Activities>(bookkeepingOptions);

export const { requestFencePermit, withdrawFencePermit } = proxyActivities<Activities>(fencePermitOptions);
