// Health (liveness) and readiness endpoints for each process.
import { createServer, type Server } from 'node:http';

export type ReadinessCheck = () => Promise<Record<string, boolean>> | Record<string, boolean>;

export type HealthServer = { port: number; close(): Promise<void> };

export async function startHealthServer(options: { port: number; host?: string; name: string; ready: ReadinessCheck }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health') return send(200, { status: 'ok', process: options.name });
    if (req.url === '/ready') {
      Promise.resolve(options.ready())
        .then((checks) => {
          const ok = Object.values(checks).every(Boolean);
          send(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', process: options.name, checks });
        })
        .catch((err: Error) => send(503, { status: 'not ready', process: options.name, error: err.message }));
      return;
    }
    send(404, { error: 'not found', endpoints: ['/health', '/ready'] });
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
