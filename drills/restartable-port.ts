// A port for a server the drill stops and starts again on it. freePort's (the OS's pick) lies in the
// kernel's ephemeral range, from which outgoing connections take their local ports: between the
// crash and the restart one of them can hold it (a restarted Temporal dev server once found its UI
// port so taken). A port below that range is only ever taken by a listener that asks for it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../stack/processes.js';

const LOWEST = 20_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A free 127.0.0.1 port below the ephemeral range (else, after 100 tries, freePort's). */
export async function restartablePort(): Promise<number> {
  const high = ephemeralLow();
  for (let tries = 0; tries < 100; tries += 1) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (await canListen(port)) return port;
  }
  return freePort();
}
