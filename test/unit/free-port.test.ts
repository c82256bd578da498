// freePort chooses a port for a server started later: one a client socket cannot take meanwhile,
// and never one it handed out already.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { chosenPortRange, freePort } from '../../stack/processes.js';

describe('freePort', () => {
  it('gives distinct ports, below the kernel ephemeral range where it leaves room, that a server can then listen on', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    // Linux's default range (32768-60999, as on the project's machines) leaves room; a host whose
    // range starts lower gets the OS's picks, distinct all the same.
    const range = chosenPortRange() ?? { low: 1, high: 65_536 };
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(range.low);
      expect(port).toBeLessThan(range.high);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
