// The process's tracer (OpenTelemetry, docs/architecture.md#traces): off unless the configuration
// names an OTLP endpoint. On, a NodeTracerProvider is registered globally (the W3C trace-context
// propagator and an AsyncLocalStorage context manager with it) and every ended span goes, scrubbed
// of anything not on the allowed list (./allowed-attributes.ts), through a batch processor to the
// OTLP/HTTP exporter (JSON). Off, nothing is registered: the API's no-op tracer answers every call.
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Config } from '../../schemas/config.js';
import { AllowedAttributesProcessor } from './allowed-attributes.js';

export type TracingSettings = Config['tracing'];

/** Where spans are POSTed: the full traces URL when given, else `<otlpEndpoint>/v1/traces`; undefined: tracing is off. */
export function otlpTracesUrl(settings: TracingSettings): string | undefined {
  if (settings.otlpTracesUrl) return settings.otlpTracesUrl;
  return settings.otlpEndpoint ? `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/** The process's tracing: what the worker hands Temporal's workflow span sink when on, and the drain. */
export type Tracing = {
  readonly enabled: boolean;
  /** When on: the processor (scrubbing, batching, exporting) and the resource workflow spans are exported with. */
  readonly export?: { spanProcessor: SpanProcessor; resource: Resource };
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops (the process's drain). */
  shutdown(): Promise<void>;
};

export const tracingOff: Tracing = { enabled: false, flush: async () => undefined, shutdown: async () => undefined };

/**
 * Starts tracing for this process as `serviceName` (provisioner-worker, provisioner-ingress, ...)
 * when the settings name an endpoint; registers the provider globally (once per process).
 */
export function startTracing(settings: TracingSettings, serviceName: string): Tracing {
  const url = otlpTracesUrl(settings);
  if (url === undefined) return tracingOff;
  const resource = Resource.default().merge(new Resource({ 'service.name': serviceName }));
  const spanProcessor = new AllowedAttributesProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [spanProcessor],
  });
  // Trace context only: the default propagators also carry W3C baggage, which an HRIS could fill
  // with a person's values; it would reach the workflow headers (not encrypted) and every SCIM request.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    enabled: true,
    export: { spanProcessor, resource },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
