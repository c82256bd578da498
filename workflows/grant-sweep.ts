// The safety net of request grants (issue 16): a Temporal Schedule runs this workflow every few
// minutes. It lists the request grants whose end passed more than a grace ago and that are still
// live in the store (their person's workflow was terminated, or its history lost, so its timer
// never fired) and hands each to the person's identity workflow as a revocation, which converges
// the person and marks the grant revoked: the next sweep no longer finds it.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { GrantSweepActivities } from '../activities/grant-sweep.js';
import { bookkeepingOptions } from './activity-options.js';

const { listOverdueRequestGrants, askIdentityToRevokeGrant } = proxyActivities<GrantSweepActivities>(bookkeepingOptions);

/** The workflow type the schedule starts (the function name is the type). */
export const GRANT_SWEEP_WORKFLOW = 'grantSweep';

export type GrantSweepInput = {
  /** How long past its end a grant is left to its person's workflow (minutes). */
  graceMinutes: number;
  /** The most grants one sweep hands over; the rest wait for the next. */
  maxPerRun: number;
};

export type GrantSweepResult = {
  /** Overdue grants found (at most maxPerRun). */
  found: number;
  /** Handed to their person's workflow. */
  asked: number;
  /** Revoked or extended since they were listed: left alone. */
  settled: number;
};

/** How many people's workflows are asked at once. */
const PARALLEL = 20;

export async function grantSweep(input: GrantSweepInput): Promise<GrantSweepResult> {
  const { workflowId, taskQueue } = workflowInfo();
  const overdue = await listOverdueRequestGrants({ graceMinutes: input.graceMinutes, limit: input.maxPerRun });
  let asked = 0;
  for (let i = 0; i < overdue.length; i += PARALLEL) {
    const answers = await Promise.all(
      overdue.slice(i, i + PARALLEL).map((grant) => askIdentityToRevokeGrant({ grant, sweepId: workflowId, taskQueue, graceMinutes: input.graceMinutes })),
    );
    asked += answers.filter((a) => a === 'asked').length;
  }
  return { found: overdue.length, asked, settled: overdue.length - asked };
}
