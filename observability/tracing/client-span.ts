// A connector's client span: one per SCIM HTTP exchange and per LDAP operation, a child of the
// activity's RunActivity span, named by the protocol's template (`GET /Users/{id}`, `LDAP modify`),
// never by a path, filter or DN holding a person's values. With tracing off the API's no-op tracer
// answers: nothing is recorded, and traceHeaders() is empty.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/** Runs `call` in a client span; a throw marks the span failed with the error's class (error.type). */
export async function inClientSpan<T>(name: string, attributes: Attributes, call: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer('provisioner-connectors').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call(span);
    } catch (err) {
      failedAnswer(span, err instanceof Error ? err.name : 'other');
      span.recordException(err as Error);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span whose call returned a failure answer (an HTTP 4xx or 5xx) failed, with that answer's class. */
export function failedAnswer(span: Span, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The active span's W3C trace context as request headers (`traceparent`, `tracestate`), so a SaaS app can continue the trace. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}
