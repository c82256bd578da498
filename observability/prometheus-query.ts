// A small client of Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/):
// instant queries, rules and flags, each answer checked with zod. The bench reads its run's series
// from the local Prometheus with it (stack/prometheus-key-series.ts), the stack checks whose server
// answers on its port (stack/prometheus.ts).
import { z } from 'zod';

/** Every answer's envelope: `success` with data, or `error` with its type and message. */
const envelope = z.discriminatedUnion('status', [
  z.object({ status: z.literal('success'), data: z.unknown(), warnings: z.array(z.string()).optional() }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

/** A sample: [unix seconds, value as text ("NaN", "+Inf" included)]. */
const sample = z.tuple([z.number(), z.string()]).transform(([time, value]) => ({ time, value: Number(value) }));

export const vectorResult = z.object({
  resultType: z.literal('vector'),
  result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })),
});

export const scalarResult = z.object({ resultType: z.literal('scalar'), result: sample });

const queryData = z.discriminatedUnion('resultType', [
  vectorResult,
  scalarResult,
  z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(sample) })) }),
  z.object({ resultType: z.literal('string'), result: z.tuple([z.number(), z.string()]) }),
]);

export const rulesData = z.object({
  groups: z.array(
    z.object({
      name: z.string(),
      file: z.string(),
      rules: z.array(z.object({ name: z.string(), type: z.enum(['alerting', 'recording']), health: z.string().optional(), state: z.string().optional() })),
    }),
  ),
});

export const flagsData = z.record(z.string(), z.string());

export class PrometheusQueryError extends Error {
  override readonly name = 'PrometheusQueryError';
}

/** GET <baseUrl>/api/v1/<endpoint>: the answer's data, parsed; an error answer or an unexpected shape throws naming the endpoint. */
export async function prometheusApi<T extends z.ZodType>(baseUrl: string, endpoint: string, params: Record<string, string>, data: T, timeoutMs = 10_000): Promise<z.output<T>> {
  const url = new URL(`api/v1/${endpoint}`, `${baseUrl.replace(/\/+$/, '')}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return parseAnswer(endpoint, res.status, await res.text(), data);
}

/** An answer's body (any status: Prometheus answers 400 and 422 with the error envelope) as `data`. */
export function parseAnswer<T extends z.ZodType>(endpoint: string, status: number, body: string, data: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PrometheusQueryError(`prometheus ${endpoint}: HTTP ${status}, not JSON: ${body.slice(0, 120)}`);
  }
  const answer = envelope.safeParse(json);
  if (!answer.success) throw new PrometheusQueryError(`prometheus ${endpoint}: HTTP ${status}, not an API answer`);
  if (answer.data.status === 'error') throw new PrometheusQueryError(`prometheus ${endpoint}: ${answer.data.errorType}: ${answer.data.error}`);
  const parsed = data.safeParse(answer.data.data);
  if (!parsed.success) throw new PrometheusQueryError(`prometheus ${endpoint}: unexpected data: ${z.prettifyError(parsed.error).split('\n').join('; ')}`);
  return parsed.data;
}

export type Series = { labels: Record<string, string>; value: number };

/** An instant query (at `time`, default now) whose result is a vector or a scalar, as series (a scalar is one series with no labels). */
export async function instantQuery(baseUrl: string, query: string, time?: Date): Promise<Series[]> {
  const params: Record<string, string> = { query };
  if (time) params.time = (time.getTime() / 1000).toFixed(3);
  const data = await prometheusApi(baseUrl, 'query', params, queryData);
  if (data.resultType === 'vector') return data.result.map((r) => ({ labels: r.metric, value: r.value.value }));
  if (data.resultType === 'scalar') return [{ labels: {}, value: data.result.value }];
  throw new PrometheusQueryError(`prometheus query: expected a vector or a scalar, got a ${data.resultType} for ${query}`);
}
