// Health (liveness), readiness and Prometheus metrics (observability/metrics.ts) endpoints for each process.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { metrics } from './metrics.js';
import { temporalMetricsText } from './temporal-metrics.js';

export type ReadinessCheck = () => Promise<Record<string, boolean>> | Record<string, boolean>;

export type HealthServer = { port: number; close(): Promise<void> };

export async function startHealthServer(options: { port: number; host?: string; name: string; ready: ReadinessCheck; registry?: Registry }): Promise<HealthServer> {
  const registry = options.registry ?? metrics.registry;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health') return send(200, { status: 'ok', process: options.name });
    if (req.url === '/metrics') {
      Promise.all([registry.metrics(), temporalMetricsText()])
        .then(([own, temporal]) => {
          const text = temporal ? `${own}\n${temporal}` : own;
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch((err: Error) => send(500, { error: err.message }));
      return;
    }
    if (req.url === '/ready') {
      Promise.resolve(options.ready())
        .then((checks) => {
          const ok = Object.values(checks).every(Boolean);
          send(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', process: options.name, checks });
        })
        .catch((err: Error) => send(503, { status: 'not ready', process: options.name, error: err.message }));
      return;
    }
    send(404, { error: 'not found', endpoints: ['/health', '/ready', '/metrics'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
