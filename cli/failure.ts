// How the CLI ends when a command fails: one line on stderr, at once (open connections and timers
// must not keep a failed command alive). A configuration, key-file or policy-folder problem
// (ConfigError) is `provisioner: <what is wrong>; <how to fix>`, then its details (a policy's
// problems), and exit status 2; a missing tool, the API's refusal, a port in use, Kafka's refusal
// and any other failure that is not a bug are one line and status 1. Programmer errors keep their
// stack: they are bugs to report, not a state to fix. A closed stdout (`provisioner status | head`)
// ends the command quietly with status 0.
import { KafkaConnectionError } from '../kafka/client.js';
import { PortInUseError } from '../runtime/ports.js';
import { ConfigError } from '../schemas/config.js';
import { MissingPrerequisiteError } from '../stack/shell.js';
import { ApiCallError } from './api-client.js';

/** A failure the command has put into words itself: printed as it is, one line, no stack. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

const programmerErrors = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'AssertionError']);

/** A multi-line message on one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** What to do about the broker's commonest refusals. */
const kafkaHints: Record<string, string> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'the topic does not exist and the broker does not create topics; `provisioner stack up` creates the configured ones',
  MESSAGE_TOO_LARGE: "an event is larger than the broker's message.max.bytes",
};

/** The reason Kafka gave, from a kafkajs error (the innermost cause: a retried error wraps the broker's answer). */
export function kafkaReason(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.name.startsWith('KafkaJS')) return undefined;
  let inner: Error & { type?: string } = err;
  while (inner.cause instanceof Error && inner.cause !== inner) inner = inner.cause;
  const hint = inner.type ? kafkaHints[inner.type] : undefined;
  return `${oneLine(inner.message)}${inner.type ? ` (${inner.type})` : ''}${hint ? `: ${hint}` : ''}`;
}

/** Failures whose message already says what to fix. */
const isKnown = (err: Error) => err instanceof ConfigError || err instanceof MissingPrerequisiteError || err instanceof ApiCallError || err instanceof PortInUseError;

/** The line that reports a failed command. `known`: the caller vouches that the message says what to fix. */
export function failureLine(err: unknown, known = false): string {
  if (!(err instanceof Error)) return `provisioner: ${oneLine(String(err))}`;
  // A command or a process that could not reach Kafka: the hop's own line (`kafka: ...; check ...`).
  if (err instanceof CommandFailure || err instanceof KafkaConnectionError) return oneLine(err.message);
  if (known || isKnown(err)) return `provisioner: ${oneLine(err.message)}`;
  const kafka = kafkaReason(err);
  if (kafka) return `provisioner: Kafka: ${kafka}`;
  if (programmerErrors.has(err.name)) return `provisioner: ${err.stack ?? err.message}`;
  return `provisioner: ${oneLine(err.message)}`;
}

/** Everything printed for a failure: its line, then a ConfigError's details, indented. */
export function describeFailure(err: unknown): string {
  const details = err instanceof ConfigError ? err.details.map((d) => `  ${d}\n`).join('') : '';
  return `${failureLine(err)}\n${details}`;
}

export const exitStatusOf = (err: unknown): number => (err instanceof ConfigError ? 2 : 1);

/** Prints the line and exits now (stderr writes are synchronous for files, pipes and terminals). */
export function exitWithFailure(line: string, status = 1): never {
  process.stderr.write(`${line}\n`);
  process.exit(status);
}

/** Reports a failed command and exits with its status. */
export function exitWithError(err: unknown): never {
  process.stderr.write(describeFailure(err));
  process.exit(exitStatusOf(err));
}

/** A reader that stops reading (`| head`) ends the command quietly, with status 0. */
export function endQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
