// The identity workflow as its clients see it: an HR event handed to the person's workflow
// (`identity/<employeeId>`) by signalWithStart, which starts it if it is not running.
import type { Client } from '@temporalio/client';
import type { HrEvent } from '../schemas/events.js';
import type { identityLifecycle } from '../workflows/identity-lifecycle.js';
import { hrEventReceived, identityWorkflowId, type HrEventReceived } from '../workflows/messages.js';
import { EmployeeId } from '../workflows/search-attributes.js';

/** Hands an HR event to the person's identity workflow; resolves once Temporal has it durably. */
export async function signalHrEvent(client: Client, taskQueue: string, event: HrEvent): Promise<void> {
  const received: HrEventReceived = { eventId: event.id, type: event.type, source: event.source, time: event.time, snapshot: event.data };
  await client.workflow.signalWithStart<typeof identityLifecycle, [HrEventReceived]>('identityLifecycle', {
    workflowId: identityWorkflowId(event.subject),
    taskQueue,
    args: [{ employeeId: event.subject }],
    signal: hrEventReceived,
    signalArgs: [received],
    typedSearchAttributes: [{ key: EmployeeId, value: event.subject }],
  });
}
