// What the CLI prints, and its exit status, when a command fails. A configuration, key-file or
// policy-folder problem (ConfigError) is one line, `provisioner: <what is wrong>; <how to fix>`,
// then its details (a policy's problems), never a stack trace, and exit status 2. A missing tool
// and the API's refusal are one line too (status 1). Anything else is a bug and keeps its stack.
import { ConfigError } from '../schemas/config.js';
import { MissingPrerequisiteError } from '../stack/shell.js';
import { ApiCallError } from './api-client.js';

/** A message meant as one line stays one: later lines (a YAML parser's excerpt, say) are joined in. */
const oneLine = (message: string) => message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');

export function describeFailure(err: unknown): string {
  const error = err instanceof Error ? err : new Error(String(err));
  if (error instanceof ConfigError) return `${[`provisioner: ${oneLine(error.message)}`, ...error.details.map((d) => `  ${d}`)].join('\n')}\n`;
  if (error instanceof MissingPrerequisiteError || error instanceof ApiCallError) return `provisioner: ${error.message}\n`;
  return `provisioner: ${error.stack ?? error.message}\n`;
}

export const exitStatusOf = (err: unknown): number => (err instanceof ConfigError ? 2 : 1);
