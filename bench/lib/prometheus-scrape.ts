// The bench under the local Prometheus (stack/prometheus.ts), when one runs: the bench process
// serves its /metrics (its worker and ingress record into the process's registry) on a free port,
// registers it as a scrape target, waits for the first scrape, and after the run reads the key
// series back (stack/prometheus-key-series.ts).
import type { Config } from '../../schemas/config.js';
import { startHealthServer } from '../../observability/health-server.js';
import { instantQuery } from '../../observability/prometheus-query.js';
import { SCRAPE_INTERVAL_SECONDS } from '../../stack/prometheus-config.js';
import { prometheusHealthy, prometheusUrl } from '../../stack/prometheus.js';
import { registerScrapeTarget } from '../../stack/prometheus-targets.js';
import { sleep, waitFor } from '../../stack/processes.js';
import { queryKeySeries, type KeySeriesReport } from '../../stack/prometheus-key-series.js';

export type ScrapedRun = {
  /** The window's start: after the warm-up, so the key series cover the measured phases only. */
  markStart(): void;
  /** After the run: waits for a last scrape, then queries the run's key series (undefined, said why, if it fails). */
  report(): Promise<KeySeriesReport | undefined>;
  close(): Promise<void>;
};

export async function scrapedByPrometheus(cfg: Config, say: (msg: string) => void): Promise<ScrapedRun | undefined> {
  const url = prometheusUrl(cfg);
  if (!(await prometheusHealthy(cfg))) {
    say(`no local Prometheus at ${url}: \`npx provisioner stack up prometheus\` (built once, minutes) and the bench also reports the key series from it`);
    return undefined;
  }
  const health = await startHealthServer({ port: 0, name: 'bench', ready: () => ({}) });
  const unregister = registerScrapeTarget(cfg.dataDir, { processName: 'bench', host: '127.0.0.1', port: health.port });
  const instance = `127.0.0.1:${health.port}`;
  const close = async () => {
    unregister();
    await health.close();
  };
  try {
    await waitFor(`prometheus scraping the bench (${instance})`, async () => (await instantQuery(url, `up{instance="${instance}"}`)).some((s) => s.value === 1), { timeoutMs: 30_000, intervalMs: 500 });
  } catch (err) {
    await close();
    say(`${(err as Error).message}; the run goes on without the key series from Prometheus`);
    return undefined;
  }
  let start = new Date();
  say(`Prometheus ${url} scrapes the bench's /metrics at ${instance} every ${SCRAPE_INTERVAL_SECONDS} s`);
  return {
    markStart() {
      start = new Date();
    },
    async report() {
      // The run's last samples: one more scrape after the last outcome.
      await sleep((SCRAPE_INTERVAL_SECONDS + 1.5) * 1000);
      try {
        return await queryKeySeries(url, { instance, start, end: new Date() });
      } catch (err) {
        say(`could not read the key series from Prometheus: ${(err as Error).message}`);
        return undefined;
      }
    },
    close,
  };
}
