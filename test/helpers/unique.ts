// Names unique to one test run, so parallel files, repeated runs and a running demo never collide.
import { randomBytes } from 'node:crypto';

export const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

export function uniqueName(prefix: string): string {
  return `${prefix}-${runId}-${randomBytes(3).toString('hex')}`;
}
