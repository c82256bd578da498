// The demo's Prometheus: part of the demo's stack when the user has it (stack.prometheus, or a
// local Prometheus of this checkout already running: `stack up` reuses it). The demo never starts
// one on its own: its first build takes about 9 minutes on two cores, more than the rest of a first
// demo, and a demo run with another data folder (a test's) must not leave a Prometheus holding the
// shared port. Without one, the demo says how to have it.
import type { Config } from '../../schemas/config.js';
import { prometheusUrl, prometheusWanted } from '../../stack/prometheus.js';

/** Where to query the demo's series (two example queries), or how to have Prometheus next time. */
export function demoPrometheusLines(cfg: Config): string[] {
  if (!prometheusWanted(cfg)) {
    return ['Prometheus: not running; `npx provisioner stack up prometheus` builds it once (about 9 minutes) and starts it, and while it runs the demo and `npm run bench` use it (PROVISIONER_PROMETHEUS=true: every `stack up` starts it)'];
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
