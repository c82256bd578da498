// How the CLI ends: a failure is one line on stderr and exit status 1, at once (open connections
// and timers must not keep a failed command alive); a closed stdout (`provisioner status | head`)
// ends it quietly with status 0.
import { PortInUseError } from '../runtime/ports.js';

/** A failure the command has put into words itself: printed as it is, one line, no stack. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

/** Programmer errors keep their stack: they are bugs to report, not a state to fix. */
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

/**
 * The line that reports a failed command. `known`: failures whose message says what to fix
 * (configuration, a missing tool, the API's refusal); anything else that is not a bug is one line too.
 */
export function failureLine(err: unknown, known = false): string {
  if (!(err instanceof Error)) return `provisioner: ${oneLine(String(err))}`;
  if (err instanceof CommandFailure) return oneLine(err.message);
  if (known || err instanceof PortInUseError) return `provisioner: ${oneLine(err.message)}`;
  const kafka = kafkaReason(err);
  if (kafka) return `provisioner: Kafka: ${kafka}`;
  if (programmerErrors.has(err.name)) return `provisioner: ${err.stack ?? err.message}`;
  return `provisioner: ${oneLine(err.message)}`;
}

/** Prints the line and exits with status 1 now (stderr writes are synchronous for files, pipes and terminals). */
export function exitWithFailure(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
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
