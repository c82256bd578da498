// A workflow interceptor module (bundled before Temporal's OpenTelemetry one: see
// runtime/workflows-path.ts): the work a person's long-lived workflow does for a message is traced
// in that message's trace. Temporal's interceptors parent every activity to the run's RunWorkflow
// span, which for `identity/<employeeId>` lives (and stays unexported) for as long as the person
// does, and belongs to the trace of the event that started the run: a leaver's steps would land in
// their hire's trace. Here an activity the run's main loop schedules is parented instead to the
// latest signal that carried a trace context (its header), so a hire's steps sit in the hire's
// trace (Kafka message → SignalWithStartWorkflow → StartActivity → RunActivity → connector call),
// and a later leaver's in the leaver's. Activities scheduled inside a handler keep that handler's span.
// It changes no command, only the span header of the activities scheduled: histories replay alike.
import { context, trace, type Context } from '@opentelemetry/api';
import { extractContextFromHeaders } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import type { ActivityInput, LocalActivityInput, Next, SignalInput, WorkflowInboundCallsInterceptor, WorkflowInterceptorsFactory, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';

/** The trace context of the latest signal that brought one (module state: one per workflow run). */
let latestMessage: Context | undefined;

/** Is the active span the run's own (RunWorkflow:…), i.e. is this the main loop rather than a handler? */
function inMainLoop(): boolean {
  const span = trace.getSpan(context.active()) as { name?: unknown } | undefined;
  return typeof span?.name === 'string' && span.name.startsWith('RunWorkflow');
}

class LatestMessageInbound implements WorkflowInboundCallsInterceptor {
  async handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    latestMessage = extractContextFromHeaders(input.headers) ?? latestMessage;
    return next(input);
  }
}

/** Runs `schedule` in the latest message's context when the main loop schedules, else as it is. */
function underLatestMessage<T>(schedule: () => Promise<T>): Promise<T> {
  const parent = latestMessage;
  return parent !== undefined && inMainLoop() ? context.with(parent, schedule) : schedule();
}

class LatestMessageOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return underLatestMessage(() => next(input));
  }
  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return underLatestMessage(() => next(input));
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new LatestMessageInbound()], outbound: [new LatestMessageOutbound()] });
