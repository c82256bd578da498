// The application's Prometheus metrics (prom-client), one registry per process, served at
// `/metrics` beside `/health` (observability/health-server.ts). Labels come only from closed
// vocabularies: application ids (the policy's), step actions and outcomes, error classes, topics
// and dead-letter reason codes. Never a name, an e-mail, an employee id, a ticket or a token:
// `label()` refuses anything else, and a test scrapes a running pipeline for a canary.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A label value: a short identifier (`chat`, `disableAccount`, `too-large`); anything else is `other`. */
export function label(value: string | undefined): string {
  if (value === undefined || value === '') return 'none';
  return /^[A-Za-z][A-Za-z0-9_.:-]{0,62}$/.test(value) && !/\d{3,}/.test(value) ? value : 'other';
}

/** The error classes a label may name (connectors/errors.ts, the quarantine's failure, timeouts); any other is `other`. */
const ERROR_CLASSES = new Set(['TransientError', 'AuthError', 'InvalidRequestError', 'NotFoundError', 'ApplicationQuarantined', 'TimeoutError', 'AbortError']);

/** An error's class for a label: an ApplicationFailure's type, else the error's name, when it is one we know. */
export function errorClass(err: unknown): string {
  const e = (err ?? {}) as { name?: unknown; type?: unknown };
  const name = typeof e.type === 'string' ? e.type : typeof e.name === 'string' ? e.name : undefined;
  return name !== undefined && ERROR_CLASSES.has(name) ? name : 'other';
}

/** Seconds from an HR event to its accounts: seconds when all is well, hours when a fence or an app held it. */
const PROVISION_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

/** Seconds, from a fast local call to a slow SaaS API under rate limits. */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One consumer's lag per partition, read from offsets at scrape time. */
export type LagSource = () => Promise<ReadonlyArray<{ topic: string; partition: number; lag: bigint }>>;

/** A scrape waits this long for a lag source (Kafka unreachable): its series are left out, never stale. */
const LAG_READ_TIMEOUT_MS = 3_000;

export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const lagSources = new Set<LagSource>();
  return {
    registry,
    /** Adds a consumer whose lag the gauge reads at each scrape; the function returned removes it. */
    addLagSource(source: LagSource): () => void {
      lagSources.add(source);
      return () => void lagSources.delete(source);
    },
    steps: new Counter({ name: 'provisioner_steps_total', help: 'Provisioning step attempts, by application, action and outcome (created, updated, unchanged, applied, already-in-state, planned, action-required; error: the attempt threw and is retried or fails the step; paused: held by a Retry-After of the application, not called)', labelNames: ['app', 'action', 'outcome'] as const, registers }),
    connectorCalls: new Histogram({ name: 'provisioner_connector_call_seconds', help: 'Connector calls of provisioning steps, by application, action and result (ok, or the error class)', labelNames: ['app', 'action', 'result'] as const, buckets: CALL_BUCKETS, registers }),
    connectorErrors: new Counter({ name: 'provisioner_connector_errors_total', help: 'Connector calls that failed, by application and error class (TransientError, AuthError, InvalidRequestError, NotFoundError, TimeoutError, AbortError, other); a quarantined application is not called', labelNames: ['app', 'class'] as const, registers }),
    eventsConsumed: new Counter({ name: 'provisioner_events_consumed_total', help: 'Kafka messages the ingress consumed, by topic and disposition (handled, dead-lettered)', labelNames: ['topic', 'disposition'] as const, registers }),
    deadLetters: new Counter({ name: 'provisioner_dead_letters_total', help: 'Messages sent to a dead-letter topic, by source topic and reason code', labelNames: ['topic', 'reason'] as const, registers }),
    consumerLag: new Gauge({
      name: 'provisioner_consumer_lag',
      help: "Messages between the consumer group's committed offset and the partition's end, by topic and partition, read from Kafka's offsets at scrape time (the group's, whichever process holds the partition: alert on max)",
      labelNames: ['topic', 'partition'] as const,
      registers,
      async collect() {
        const read = await Promise.all(
          [...lagSources].map((source) => Promise.race([source(), new Promise<undefined>((r) => setTimeout(() => r(undefined), LAG_READ_TIMEOUT_MS).unref())]).catch(() => undefined)),
        );
        this.reset();
        // Topics are the deployment's configuration (as in the other series), never a person's.
        for (const lag of read.flatMap((r) => r ?? [])) this.set({ topic: lag.topic, partition: String(lag.partition) }, Number(lag.lag));
      },
    }),
    rateLimited: new Counter({ name: 'provisioner_rate_limited_total', help: 'HTTP 429 answers from an application, by application', labelNames: ['app'] as const, registers }),
    retryAfterWaits: new Histogram({ name: 'provisioner_retry_after_wait_seconds', help: 'Waits an application asked for (Retry-After on 429 or 503) before the next attempt, by application', labelNames: ['app'] as const, buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers }),
    timeToProvision: new Histogram({ name: 'provisioner_time_to_provision_seconds', help: "From the HR event's time to its change's outcome, per event type, application and outcome status (each application the change acted on)", labelNames: ['event_type', 'app', 'status'] as const, buckets: PROVISION_BUCKETS, registers }),
    fencePermits: new Counter({ name: 'provisioner_fence_permits_total', help: 'Fence permit asks, by source budget and answer (allowed, held)', labelNames: ['budget', 'permit'] as const, registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The process's metrics: every part of one process records into the one registry `/metrics` serves. */
export const metrics: Metrics = createMetrics();

/** A connector call timed by application, action and result (ok, or the error's class); a failure also counts as an error. */
export async function timeConnectorCall<T>(app: string, action: string, call: () => Promise<T>, m: Metrics = metrics): Promise<T> {
  const end = m.connectorCalls.startTimer({ app: label(app), action: label(action) });
  try {
    const result = await call();
    end({ result: 'ok' });
    return result;
  } catch (err) {
    const cls = errorClass(err);
    end({ result: cls });
    m.connectorErrors.inc({ app: label(app), class: cls });
    throw err;
  }
}
