// pino at the edges, with secrets redacted by paths fixed at start-up. A line logged inside a
// span (observability/tracing/) carries its traceId and spanId.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger, type DestinationStream } from 'pino';

export const redactPaths = [
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'password', '*.password', 'bindPassword', '*.bindPassword',
  'token', '*.token', 'bearerToken', '*.bearerToken', 'secret', '*.secret', 'clientSecret', '*.clientSecret',
  'taskToken', '*.taskToken',
  // The configuration's secrets, should a Config be logged whole or as a field.
  'api.jwt.secret', '*.api.jwt.secret', 'api.token', '*.api.token', 'ldap.bindPassword', '*.ldap.bindPassword',
  'kafka.sasl.password', '*.kafka.sasl.password',
  'apiKey', '*.apiKey', 'temporal.apiKey', '*.temporal.apiKey',
];

export type { Logger };

/** The active span's ids for a log line; nothing when there is none (tracing off: the API's no-op context is always empty). */
export function traceFields(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
}

/** A logger; composition roots pass the configuration's level (logLevel, LOG_LEVEL). */
export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: options.name ? { name: options.name } : {},
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
