// The ingress's consumer span: one per Kafka message handled, child of the trace the producer (the
// HRIS, the ITSM) put in the message's W3C `traceparent` / `tracestate` headers, or a new root
// when there is none. Its attributes are the messaging conventions' (system, topic, partition,
// offset, group), never the message key: that is the person's employee id.
import { context, propagation, SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';

type KafkaHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

const kafkaHeaders: TextMapGetter<KafkaHeaders | undefined> = {
  keys: (headers) => Object.keys(headers ?? {}),
  get: (headers, key) => {
    const value = headers?.[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
  },
};

export type ConsumedMessage = { topic: string; partition: number; offset: string; groupId: string; headers?: KafkaHeaders | undefined };

/**
 * Runs `handle` inside the message's consumer span (`process <topic>`), so that what it starts
 * (a workflow's signalWithStart) carries the trace on; `disposition` names what became of it.
 * With tracing off the propagator and tracer are the API's no-ops: nothing is read or recorded.
 */
export async function inConsumerSpan<T>(message: ConsumedMessage, handle: () => Promise<T>, disposition: (result: T) => string): Promise<T> {
  const parent = propagation.extract(context.active(), message.headers, kafkaHeaders);
  const span = trace.getTracer('provisioner-ingress').startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.topic,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
        'messaging.consumer.group.name': message.groupId,
      },
    },
    parent,
  );
  try {
    const result = await context.with(trace.setSpan(parent, span), handle);
    span.setAttribute('provisioner.disposition', disposition(result));
    return result;
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}
