// A process's listening port, checked before the process takes any work: a port that is taken
// stops start-up with one line naming the port and the setting that chose it.
import { createServer } from 'node:net';

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly port: number,
    /** The setting that chose the port (`http.devPort`, `PROVISIONER_API_PORT`, ...). */
    readonly setting: string,
    options?: ErrorOptions,
  ) {
    super(`port ${port} is in use (${setting}); stop the process that holds it, or give ${setting} another port`, options);
  }
}

/** The listen error as a PortInUseError when the port is taken; any other error unchanged. */
export function listenError(err: unknown, port: number, setting: string): unknown {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE' ? new PortInUseError(port, setting, { cause: err }) : err;
}

/** Listens on the port and closes it again: throws PortInUseError when another process holds it. Port 0 is always free. */
export async function assertPortFree(port: number, setting: string, host = '127.0.0.1'): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, port, setting)));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}
