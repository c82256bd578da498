// Driving a person's identity workflow the way the HR ingress does (signal-with-start of
// `hrEventReceived`), and reading its state.
import type { WorkflowHandle } from '@temporalio/client';
import type { HrEventType } from '../../schemas/events.js';
import type { identityLifecycle } from '../../workflows/identity-lifecycle.js';
import { getState, hrEventReceived, identityWorkflowId, type HrEventReceived, type IdentityState } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { until, type Scenario } from './harness.js';

export type Person = {
  employeeId: string;
  handle: WorkflowHandle<typeof identityLifecycle>;
  /** Sends an HR event as the ingress does (signal-with-start). */
  send(type: HrEventType, sequence: number, data?: Record<string, unknown>): Promise<void>;
  /** Sends an HR event and waits until the workflow has settled it. */
  hr(type: HrEventType, sequence: number, data?: Record<string, unknown>): Promise<IdentityState>;
  state(): Promise<IdentityState>;
  /** Waits until the state satisfies `ok`. */
  until(what: string, ok: (s: IdentityState) => boolean): Promise<IdentityState>;
};

export function person(run: Scenario, employeeId: string): Person {
  const workflowId = identityWorkflowId(employeeId);
  const handle = run.env.client.workflow.getHandle<typeof identityLifecycle>(workflowId);
  const state = () => handle.query(getState);
  const settled = (s: IdentityState, sequence: number) => s.lastAppliedSequence >= sequence && s.pendingEvents === 0 && s.status !== 'provisioning' && s.status !== 'idle';
  const self: Person = {
    employeeId,
    handle,
    state,
    until: (what, ok) => until(what, async () => {
      const s = await state();
      return ok(s) ? s : undefined;
    }),
    async send(type, sequence, data = {}) {
      const e = hrEvent(employeeId, { type, sequence, data });
      const received: HrEventReceived = { eventId: e.id, type, source: e.source, time: e.time, snapshot: e.data as HrEventReceived['snapshot'] };
      await run.env.client.workflow.signalWithStart('identityLifecycle', {
        workflowId,
        taskQueue: run.taskQueue,
        args: [{ employeeId }],
        signal: hrEventReceived,
        signalArgs: [received],
      });
    },
    async hr(type, sequence, data) {
      await self.send(type, sequence, data);
      return self.until(`${employeeId}: sequence ${sequence} settled`, (s) => settled(s, sequence));
    },
  };
  return self;
}
