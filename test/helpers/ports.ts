// A port a test chooses now and listens on later. A port the kernel hands out for `listen(0)` lies
// in its ephemeral range, where it also picks the local port of every outgoing connection: under a
// full test run (Kafka, Temporal, Postgres clients in parallel files) a client socket can take it
// between the choice and the listen, and the test fails on a port it never shared. Ports below
// that range are handed out only on request, so a free one stays free.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux's default 32768 where it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port on 127.0.0.1 below the ephemeral range, chosen at random so parallel test files rarely meet. */
export async function unsharedPort(): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${high} after 200 tries`);
}
