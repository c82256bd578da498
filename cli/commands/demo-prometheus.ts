// The demo's Prometheus: started with the stack when it needs no build (a `prometheus` on PATH, or
// the cached build of an earlier `stack up prometheus`) or when stack.prometheus asks for it. Its
// first build takes about 9 minutes on two cores, more than the rest of a first demo, so the demo
// never builds it: it says how to, and the next demo starts it.
import type { Config } from '../../schemas/config.js';
import { prometheusBinary, prometheusUrl, prometheusWanted } from '../../stack/prometheus.js';

/** The configuration the demo brings the stack up with: Prometheus on when its binary is at hand. */
export function demoStackConfig(cfg: Config): Config {
  return prometheusBinary(cfg) === undefined ? cfg : { ...cfg, stack: { ...cfg.stack, prometheus: true } };
}

/** Where to query the demo's series (two example queries), or how to have Prometheus next time. */
export function demoPrometheusLines(cfg: Config): string[] {
  if (!prometheusWanted(cfg)) {
    return ['Prometheus: not started (its first build from its Go module takes about 9 minutes); `npx provisioner stack up prometheus` builds and starts it once, and the next demo starts it with the stack'];
  }
  const url = prometheusUrl(cfg);
  const query = (q: string) => `curl -s ${url}/api/v1/query --data-urlencode '${q}'`;
  return [
    `Prometheus ${url} scrapes provisioner dev every 5 s and evaluates the alert rules (HTTP API only: a go-install build has no web UI), e.g.`,
    `  steps per second by outcome: ${query('query=sum by (outcome) (rate(provisioner_steps_total[5m]))')}`,
    `  time to provision p99: ${query('query=histogram_quantile(0.99, sum by (le, event_type) (rate(provisioner_time_to_provision_seconds_bucket[15m])))')}`,
    `  alerts: curl -s ${url}/api/v1/alerts`,
  ];
}
