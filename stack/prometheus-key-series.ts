// The key series of a bench run or a drill, read back from the local Prometheus (stack/prometheus.ts) that
// scraped the bench's or the drill's processes during the run: time to provision p50/p99 per event type
// (histogram_quantile over provisioner_time_to_provision_seconds), steps per second by outcome
// (mean over the run and the peak 15 s rate), the ingress's consumer lag (peak and at the end) and
// the fence's state (held batches at most, permit answers). Prometheus's figures come from its
// histogram buckets (1, 2, 5, 10, 30 s...): coarser than the bench's own, measured per joiner.
import { instantQuery, type Series } from '../observability/prometheus-query.js';
import { SCRAPE_INTERVAL_SECONDS } from './prometheus-config.js';

export type KeySeriesQueries = ReturnType<typeof keySeriesQueriesFor>;

/** The PromQL of each figure, over the `rangeSeconds` before the query's time, for the series of one scrape target. */
export function keySeriesQueries(instance: string, rangeSeconds: number) {
  return keySeriesQueriesFor(`instance="${instance}"`, rangeSeconds);
}

/** The same figures for the series a label matcher selects (e.g. `drill="<id>"`: every process of one drill). */
export function keySeriesQueriesFor(sel: string, rangeSeconds: number) {
  const range = `${rangeSeconds}s`;
  // Subqueries at the scrape interval: the peak of a gauge or of a short rate within the run.
  const over = `[${range}:${SCRAPE_INTERVAL_SECONDS}s]`;
  const quantile = (q: number) => `histogram_quantile(${q}, sum by (le, event_type) (increase(provisioner_time_to_provision_seconds_bucket{${sel}}[${range}])))`;
  return {
    provisionP50: quantile(0.5),
    provisionP99: quantile(0.99),
    provisioned: `sum by (event_type) (increase(provisioner_time_to_provision_seconds_count{${sel}}[${range}]))`,
    stepsMean: `sum by (outcome) (increase(provisioner_steps_total{${sel}}[${range}])) / ${rangeSeconds}`,
    stepsPeak: `max_over_time((sum by (outcome) (rate(provisioner_steps_total{${sel}}[${3 * SCRAPE_INTERVAL_SECONDS}s])))${over})`,
    lagPeak: `max_over_time((sum(provisioner_consumer_lag{${sel}}))${over})`,
    lagEnd: `sum(provisioner_consumer_lag{${sel}})`,
    fenceHeldBatchesPeak: `max_over_time((max(provisioner_fence_held_batches{${sel}}))${over})`,
    fencePermits: `sum by (permit) (increase(provisioner_fence_permits_total{${sel}}[${range}]))`,
  };
}

const round = (v: number, d = 2) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);

/** Series as `{ <label value>: value }` (a series without the label: `all`). */
function byLabel(series: Series[], name: string, decimals = 2): Record<string, number | null> {
  return Object.fromEntries(series.map((s) => [s.labels[name] ?? 'all', round(s.value, decimals)]));
}

const single = (series: Series[]) => (series.length === 0 ? null : round(series[0]!.value));

export type KeySeriesReport = {
  prometheus: string;
  instance: string;
  rangeSeconds: number;
  timeToProvisionSeconds: Record<string, { p50: number | null; p99: number | null; count: number | null }>;
  stepsPerSecond: Record<string, { mean: number | null; peak: number | null }>;
  consumerLag: { peak: number | null; atEnd: number | null };
  fence: { heldBatchesPeak: number | null; permits: Record<string, number | null> };
  queries: KeySeriesQueries;
};

/** Queries the key series at `end` over the run (`start` to `end`) for the bench's scrape target. */
export async function queryKeySeries(baseUrl: string, options: { instance: string; start: Date; end: Date; selector?: string }): Promise<KeySeriesReport> {
  const rangeSeconds = Math.max(2 * SCRAPE_INTERVAL_SECONDS, Math.ceil((options.end.getTime() - options.start.getTime()) / 1000));
  const queries = keySeriesQueriesFor(options.selector ?? `instance="${options.instance}"`, rangeSeconds);
  const entries = await Promise.all(Object.entries(queries).map(async ([k, q]) => [k, await instantQuery(baseUrl, q, options.end)] as const));
  const r = Object.fromEntries(entries) as Record<keyof KeySeriesQueries, Series[]>;
  const p50 = byLabel(r.provisionP50, 'event_type');
  const p99 = byLabel(r.provisionP99, 'event_type');
  // increase() extrapolates to the range's ends: whole outcomes and permits read better.
  const count = byLabel(r.provisioned, 'event_type', 0);
  const mean = byLabel(r.stepsMean, 'outcome');
  const peak = byLabel(r.stepsPeak, 'outcome');
  return {
    prometheus: baseUrl,
    instance: options.instance,
    rangeSeconds,
    timeToProvisionSeconds: Object.fromEntries(Object.keys(count).map((t) => [t, { p50: p50[t] ?? null, p99: p99[t] ?? null, count: count[t] ?? null }])),
    stepsPerSecond: Object.fromEntries([...new Set([...Object.keys(mean), ...Object.keys(peak)])].map((o) => [o, { mean: mean[o] ?? null, peak: peak[o] ?? null }])),
    consumerLag: { peak: single(r.lagPeak), atEnd: single(r.lagEnd) },
    fence: { heldBatchesPeak: single(r.fenceHeldBatchesPeak), permits: byLabel(r.fencePermits, 'permit', 0) },
    queries,
  };
}

/** The report as the lines the bench prints. */
export function formatKeySeries(r: KeySeriesReport): string[] {
  const v = (x: number | null) => (x === null ? 'n/a' : String(x));
  const perSecond = (x: number | null) => (x === null ? 'n/a' : `${x}/s`);
  const provision = Object.entries(r.timeToProvisionSeconds).map(([t, x]) => `${t}: p50 ${v(x.p50)} s, p99 ${v(x.p99)} s (${v(x.count)} outcomes)`);
  const steps = Object.entries(r.stepsPerSecond).sort(([a], [b]) => a.localeCompare(b)).map(([o, x]) => `${o} ${perSecond(x.mean)} (peak ${perSecond(x.peak)})`);
  const permits = Object.entries(r.fence.permits).map(([p, n]) => `${p} ${v(n)}`);
  return [
    `from Prometheus ${r.prometheus}, instance ${r.instance}, over the run's ${r.rangeSeconds} s (bucket-interpolated):`,
    `  time to provision   ${provision.length > 0 ? provision.join('; ') : 'no outcomes scraped'}`,
    `  steps per second    ${steps.length > 0 ? steps.join(', ') : 'no steps scraped'} (mean over the run)`,
    `  consumer lag        peak ${v(r.consumerLag.peak)}, at the end ${v(r.consumerLag.atEnd)} messages`,
    `  fence               held batches at most ${v(r.fence.heldBatchesPeak)}; permits ${permits.length > 0 ? permits.join(', ') : 'none asked'}`,
  ];
}
