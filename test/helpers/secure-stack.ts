// The secured local stack's configuration as its tests read it: examples/secure-stack.yaml alone,
// without the environment (the plain stack's KAFKA_BROKERS, DATABASE_URL, ... must not override it).
import path from 'node:path';
import { loadConfig, projectRoot, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';

export function secureStackConfig(env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ file: path.join(projectRoot, SECURE_STACK_CONFIG), env });
}
