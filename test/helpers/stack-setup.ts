// vitest global setup for the integration layer: bring the real local stack up, or reuse it.
// It is left running afterwards (a second run reuses it); `npx provisioner stack down` stops it.
import { loadConfig } from '../../schemas/config.js';
import { devIdpServerJs } from '../../stack/idp.js';
import { stackUp } from '../../stack/stack.js';
import { ensureDistBuilt } from './scim-app.js';

export default async function setup(): Promise<void> {
  const cfg = loadConfig();
  const started = Date.now();
  // The stack runs the development IdP from dist/ (a checkout that was never built builds once).
  ensureDistBuilt(devIdpServerJs, []);
  await stackUp(cfg, (line) => process.stderr.write(`[stack] ${line}\n`));
  process.stderr.write(`[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
