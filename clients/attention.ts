// The people whose provisioning needs someone, counted by Temporal itself: running identity
// workflows of one deployment by their ProvisioningStatus search attribute, and access requests
// awaiting approval (`provisioner status`; the list behind each count is the same query in the UI).
import type { Client } from '@temporalio/client';

/** The identity statuses someone must act on or wait for, in the order `status` shows them. */
export const ATTENTION_STATUSES = ['action-required', 'failed', 'fence-held', 'fence-rejected', 'waiting-for-application'] as const;
export type AttentionStatus = (typeof ATTENTION_STATUSES)[number];

/** The Temporal list query for one deployment's running workflows of a type in a status. */
export const statusQuery = (taskQueue: string, workflowType: string, status: string) =>
  `TaskQueue="${taskQueue}" AND WorkflowType="${workflowType}" AND ExecutionStatus="Running" AND ProvisioningStatus="${status}"`;

export type PeopleCounts = { byStatus: Record<AttentionStatus, number>; awaitingApproval: number };

export async function peopleNeedingAttention(client: Client, taskQueue: string): Promise<PeopleCounts> {
  const counts = await Promise.all(ATTENTION_STATUSES.map(async (s) => [s, (await client.workflow.count(statusQuery(taskQueue, 'identityLifecycle', s))).count] as const));
  const awaiting = await client.workflow.count(statusQuery(taskQueue, 'accessRequest', 'awaiting-approval'));
  return { byStatus: Object.fromEntries(counts) as Record<AttentionStatus, number>, awaitingApproval: awaiting.count };
}
