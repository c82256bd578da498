// One workflow per person (`identity/<employeeId>`), fed HR snapshots by signalWithStart.
// Ordering is by state: the snapshot with the highest sequence wins; older and duplicate
// snapshots are recorded and ignored. Long-lived through continue-as-new.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Outcome, StepOutcome } from '../schemas/outcomes.js';
import {
  getState,
  hrEventReceived,
  type AccountState,
  type HrEventReceived,
  type IdentityLifecycleInput,
  type IdentityState,
} from './messages.js';
import { Application, Department, LifecycleEvent, ProvisioningStatus } from './search-attributes.js';

const { planProvisioning, publishOutcome } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

const { ensureAccount } = proxyActivities<Activities>({
  // A connector call is a few HTTP requests of at most 5 s each; a task lost with a stopped worker is retried after this.
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidRequestError', 'AuthError'] },
});

const RECENT_EVENT_IDS = 200;
const MAX_HISTORY_EVENTS = 5_000;

export async function identityLifecycle(input: IdentityLifecycleInput): Promise<void> {
  const { employeeId } = input;
  const workflowId = workflowInfo().workflowId;
  const carried = input.carried;
  const state: IdentityState = {
    employeeId,
    lastAppliedSequence: carried?.lastAppliedSequence ?? -1,
    ...(carried?.lastEventType ? { lastEventType: carried.lastEventType } : {}),
    status: 'idle',
    accounts: carried?.accounts ?? [],
    ignoredEvents: [],
    pendingEvents: 0,
  };
  const recentEventIds: string[] = [...(carried?.recentEventIds ?? [])];
  const pending: HrEventReceived[] = [...(carried?.pending ?? [])];

  setHandler(hrEventReceived, (event) => {
    // A replayed Kafka message carries the same event id: harmless by construction.
    if (recentEventIds.includes(event.eventId) || pending.some((p) => p.eventId === event.eventId)) return;
    pending.push(event);
  });
  setHandler(getState, () => ({ ...state, pendingEvents: pending.length }));

  for (;;) {
    await condition(() => pending.length > 0 || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS);
    if (pending.length === 0) {
      await condition(allHandlersFinished);
      if (pending.length === 0) {
        await continueAsNew<typeof identityLifecycle>({
          employeeId,
          carried: { lastAppliedSequence: state.lastAppliedSequence, ...(state.lastEventType ? { lastEventType: state.lastEventType } : {}), accounts: state.accounts, recentEventIds, pending },
        });
      }
      continue;
    }
    // Take everything that arrived; the highest sequence wins, the rest is stale.
    const batch = pending.splice(0, pending.length).sort((a, b) => a.snapshot.sequence - b.snapshot.sequence);
    const newest = batch[batch.length - 1]!;
    for (const event of batch) {
      remember(recentEventIds, event.eventId);
      if (event !== newest || event.snapshot.sequence <= state.lastAppliedSequence) {
        const reason = event.snapshot.sequence <= state.lastAppliedSequence
          ? `sequence ${event.snapshot.sequence} is not newer than the applied sequence ${state.lastAppliedSequence}`
          : `superseded by sequence ${newest.snapshot.sequence} in the same batch`;
        state.ignoredEvents = [...state.ignoredEvents, { eventId: event.eventId, sequence: event.snapshot.sequence, reason }].slice(-20);
        await publishOutcome(outcomeOf(event, workflowId, { status: 'ignored', policyVersion: 'n/a', steps: [], reason }));
        continue;
      }
      await apply(event);
    }
  }

  async function apply(event: HrEventReceived): Promise<void> {
    const { snapshot } = event;
    state.status = 'provisioning';
    upsertSearchAttributes([
      { key: ProvisioningStatus, value: 'provisioning' },
      { key: LifecycleEvent, value: event.type },
      ...(snapshot.department ? [{ key: Department, value: snapshot.department }] : []),
    ]);
    const plan = await planProvisioning({ employeeId, snapshot });
    const steps: StepOutcome[] = await Promise.all(
      plan.steps.map(async (step): Promise<StepOutcome> => {
        const idempotencyKey = `${workflowId}/${event.eventId}/${step.action}/${step.app}`;
        try {
          const result = await ensureAccount({ app: step.app, idempotencyKey, snapshot });
          if (result.status === 'action-required') {
            return { app: step.app, action: step.action, outcome: 'action-required', detail: result.message };
          }
          recordAccount({ app: step.app, accountId: result.account.id, status: 'active' });
          return { app: step.app, action: step.action, outcome: result.status, accountId: result.account.id };
        } catch (err) {
          return { app: step.app, action: step.action, outcome: 'failed', detail: failureMessage(err) };
        }
      }),
    );
    const status: Outcome['status'] = steps.some((s) => s.outcome === 'failed')
      ? 'failed'
      : steps.some((s) => s.outcome === 'action-required')
        ? 'action-required'
        : 'succeeded';
    state.lastAppliedSequence = snapshot.sequence;
    state.lastEventType = event.type;
    state.status = status === 'succeeded' ? 'provisioned' : status;
    upsertSearchAttributes([
      { key: ProvisioningStatus, value: state.status },
      { key: Application, value: state.accounts.map((a) => a.app) },
    ]);
    await publishOutcome(outcomeOf(event, workflowId, { status, policyVersion: plan.policyVersion, steps, ...(plan.reason ? { reason: plan.reason } : {}) }));
  }

  function recordAccount(account: AccountState): void {
    state.accounts = [...state.accounts.filter((a) => a.app !== account.app), account].sort((a, b) => a.app.localeCompare(b.app));
  }
}

function outcomeOf(
  event: HrEventReceived,
  workflowId: string,
  result: Pick<Outcome, 'status' | 'policyVersion' | 'steps'> & { reason?: string },
): Outcome {
  return {
    changeId: `${workflowId}/${event.eventId}`,
    employeeId: event.snapshot.employeeId,
    eventId: event.eventId,
    eventType: event.type,
    sequence: event.snapshot.sequence,
    workflowId,
    ...result,
    // Workflow time is deterministic (the time of the workflow task), so this replays identically.
    completedAt: new Date().toISOString(),
  };
}

function remember(ids: string[], id: string): void {
  ids.push(id);
  if (ids.length > RECENT_EVENT_IDS) ids.splice(0, ids.length - RECENT_EVENT_IDS);
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return `${err.cause.type ?? 'Error'}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
}
