// The side effects the workflows call, built from their dependencies (createActivities(deps)).
import { Context } from '@temporalio/activity';
import type { AccountConnector, EnsureAccountResult } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerSnapshot } from '../schemas/events.js';
import { outcomeSchema, type Outcome } from '../schemas/outcomes.js';
import { atBoundary } from './failures.js';
import { planForSnapshot, type Plan } from './plan.js';

export type ActivityDeps = {
  connectors: Map<string, AccountConnector>;
  publishOutcome: (outcome: Outcome) => Promise<void>;
  logger: Logger;
};

export type EnsureAccountInput = { app: string; idempotencyKey: string; snapshot: WorkerSnapshot };

export function createActivities(deps: ActivityDeps) {
  const connector = (app: string): AccountConnector => {
    const found = deps.connectors.get(app);
    if (!found) throw new TypeError(`no connector is configured for app ${app}`);
    return found;
  };

  return {
    async planProvisioning(input: { employeeId: string; snapshot: WorkerSnapshot }): Promise<Plan> {
      return planForSnapshot(input.snapshot, [...deps.connectors.keys()]);
    },

    async ensureAccount(input: EnsureAccountInput): Promise<EnsureAccountResult> {
      const ctx = Context.current();
      const { snapshot } = input;
      const workflowId = ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId;
      const log = deps.logger.child({ app: input.app, employeeId: snapshot.employeeId, workflowId });
      const result = await atBoundary(() =>
        connector(input.app).ensureAccount(
          {
            employeeId: snapshot.employeeId,
            userName: snapshot.email!,
            givenName: snapshot.givenName!,
            familyName: snapshot.familyName!,
            email: snapshot.email!,
            active: true,
          },
          { idempotencyKey: input.idempotencyKey, correlationId: workflowId, signal: ctx.cancellationSignal },
        ),
      );
      log.info({ status: result.status, attempt: ctx.info.attempt }, 'ensureAccount');
      return result;
    },

    async publishOutcome(outcome: Outcome): Promise<void> {
      await deps.publishOutcome(outcomeSchema.parse(outcome));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
