// What a span may carry out of the process: only attributes whose keys are on a closed list (the
// messaging, HTTP and LDAP attributes we set, and Temporal's run and activity ids). Temporal's
// interceptors add the workflow id (`identity/<employeeId>`) and, on workflow spans, the whole
// WorkflowInfo (search attributes included): those never leave. An error's message may quote an
// application's answer, so a recorded exception keeps its type only and a status its code only.
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The attribute keys a span may carry: closed vocabularies and opaque ids, never a person's. */
export const ALLOWED_ATTRIBUTES: ReadonlySet<string> = new Set([
  // Kafka consumer (OpenTelemetry messaging conventions); the message key (an employee id) is not among them.
  'messaging.system',
  'messaging.operation.type',
  'messaging.destination.name',
  'messaging.destination.partition.id',
  'messaging.consumer.group.name',
  'messaging.kafka.offset',
  // SCIM calls (HTTP client conventions): the route template, never the path with its ids.
  'http.request.method',
  'http.response.status_code',
  'url.template',
  'server.address',
  'server.port',
  'error.type',
  // LDAP operations.
  'ldap.operation',
  'ldap.result_code',
  // Ours: the policy's application id, the ingress's disposition of a message.
  'provisioner.app',
  'provisioner.disposition',
  // Temporal's, opaque: run and activity ids (find the workflow with `temporal workflow list -q 'RunId="…"'`).
  'run_id',
  'temporalActivityId',
  'temporalUpdateId',
  'runId',
  'workflowType',
  'taskQueue',
  'namespace',
  'attempt',
]);

/** Keeps only the allowed attributes of `attributes`, in place. */
function keepAllowed(attributes: Record<string, unknown> | undefined): void {
  if (!attributes) return;
  for (const key of Object.keys(attributes)) if (!ALLOWED_ATTRIBUTES.has(key)) delete attributes[key];
}

/** A span's exported shape with what may be personal removed (the span has ended: nothing writes to it any more). */
export function scrub(span: ReadableSpan): ReadableSpan {
  keepAllowed(span.attributes as Record<string, unknown>);
  for (const event of span.events) {
    const attributes = event.attributes as Record<string, unknown> | undefined;
    if (attributes) for (const key of Object.keys(attributes)) if (key !== 'exception.type') delete attributes[key];
  }
  const status = span.status as { code: number; message?: string };
  delete status.message;
  return span;
}

/** A span processor that scrubs each ended span before handing it to `next` (the batch exporter). */
export class AllowedAttributesProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}
  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    this.next.onEnd(scrub(span));
  }
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
