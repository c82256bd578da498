// vitest global setup for the secured layer: the secured local stack (examples/secure-stack.yaml:
// a development CA, Kafka on SASL_SSL with SCRAM, Temporal requiring client certificates,
// PostgreSQL and slapd over TLS), brought up beside the plain one or reused, and left running.
import { stackUp } from '../../stack/stack.js';
import { secureStackConfig } from './secure-stack.js';

export default async function setup(): Promise<void> {
  const started = Date.now();
  await stackUp(secureStackConfig(), (line) => process.stderr.write(`[secure stack] ${line}\n`));
  process.stderr.write(`[secure stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
