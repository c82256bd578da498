// Temporal's OpenTelemetry interceptors, as the processes install them. The client interceptor
// puts the active span's context into the headers of a workflow start, signal or signalWithStart;
// the workflow interceptors (bundled with the workflow code: runtime/workflows-path.ts) open
// RunWorkflow / HandleSignal / StartActivity spans inside the workflow sandbox and hand them, ended,
// to the worker's `exporter` sink; the activity interceptor opens RunActivity as their child.
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor, type OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Tracing } from './provider.js';

/** The client's workflow interceptors: the trace context into the workflow's headers when tracing is on. */
export function workflowClientInterceptors(tracing: Tracing): WorkflowClientInterceptor[] {
  return tracing.enabled ? [new OpenTelemetryWorkflowClientInterceptor()] : [];
}

/** The activity interceptors: RunActivity spans (and trace ids in activity log lines) when tracing is on. */
export function activityInterceptors(tracing: Tracing): ActivityInterceptorsFactory[] {
  return tracing.enabled ? [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })] : [];
}

/** The workflow spans' way out of the sandbox: the exporter sink when tracing is on, a no-op one otherwise (an absent sink is logged as an error per call). */
export function workflowSinks(tracing: Tracing): InjectedSinks<OpenTelemetrySinks> {
  if (tracing.export) return { exporter: makeWorkflowExporter(tracing.export.spanProcessor, tracing.export.resource) };
  return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
}
