// vitest global setup for the integration layer: bring the real local stack up, or reuse it.
// It is left running afterwards (a second run reuses it); `npx provisioner stack down` stops it.
import { loadConfig } from '../../schemas/config.js';
import { stackUp } from '../../stack/stack.js';

export default async function setup(): Promise<void> {
  const cfg = loadConfig();
  const started = Date.now();
  await stackUp(cfg, (line) => process.stderr.write(`[stack] ${line}\n`));
  process.stderr.write(`[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
