// Which applications are plan-only right now, for the activities: the configuration's default
// (`safety.planOnly`) overridden per application by the mode an operator recorded in the store
// (`provisioner apps arm | disarm`, store/application-modes.ts). Read through a small cache, so an
// arm or a disarm reaches every worker within `maxAgeMs` (2 s) without a restart, and a burst of
// steps costs one query.
//
// Fail closed: when the cached modes are older than `maxAgeMs` and the store cannot be read, the
// answer is an error (ApplicationModesUnavailableError, retryable), never a guess. Guessing
// "armed" could write to an application an operator disarmed; guessing "plan-only" would record a
// step of an armed application as planned and the change as done, so a leaver's disable would
// silently not happen. The activity fails and Temporal retries it until the store answers (the
// step could not be audited without the store anyway).
import type { Logger } from '../observability/logger.js';
import { applicationModes, effectiveApplicationMode, type ApplicationMode, type Db } from '../store/index.js';

/** How stale the modes a worker acts on may be: an arm or a disarm takes effect within this. */
export const MODE_MAX_AGE_MS = 2_000;

/** The modes could not be read and the cached ones are too old: retried by Temporal, never guessed. */
export class ApplicationModesUnavailableError extends Error {
  override readonly name = 'ApplicationModesUnavailableError';
  readonly retryable = true;
}

export type ApplicationModeReader = {
  /** The plan-only test as of now (modes at most maxAgeMs old). Throws ApplicationModesUnavailableError when they cannot be read. */
  current(): Promise<(app: string) => boolean>;
  /** Whether the application is plan-only now (see current). */
  isPlanOnly(app: string): Promise<boolean>;
};

export type ApplicationModeReaderOptions = {
  db: Db;
  /** The configuration's default: plan-only applications (`safety.planOnly`). */
  planOnly: readonly string[];
  maxAgeMs?: number;
  /** Injected by tests. */
  now?: () => number;
  logger?: Logger;
};

export function createApplicationModeReader(options: ApplicationModeReaderOptions): ApplicationModeReader {
  const { db, logger } = options;
  const maxAgeMs = options.maxAgeMs ?? MODE_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const configPlanOnly = new Set(options.planOnly);
  let cached: { readAt: number; modes: ReadonlyMap<string, { mode: ApplicationMode }> } | undefined;
  let inFlight: Promise<ReadonlyMap<string, { mode: ApplicationMode }>> | undefined;

  // Concurrent callers share one query. The age counts from when the query was sent (conservative).
  const refresh = (): Promise<ReadonlyMap<string, { mode: ApplicationMode }>> => {
    inFlight ??= (async () => {
      const sentAt = now();
      try {
        const modes = await applicationModes(db);
        cached = { readAt: sentAt, modes };
        return modes;
      } catch (err) {
        logger?.warn({ err: { message: (err as Error).message } }, 'application modes: the store could not be read; steps wait (fail closed)');
        throw new ApplicationModesUnavailableError(
          `the application modes could not be read from the store (${(err as Error).message}); no step is applied until they can be`,
          { cause: err },
        );
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const reader: ApplicationModeReader = {
    async current() {
      const modes = cached && now() - cached.readAt < maxAgeMs ? cached.modes : await refresh();
      return (app) => effectiveApplicationMode(app, configPlanOnly, modes).mode === 'plan-only';
    },
    async isPlanOnly(app) {
      return (await reader.current())(app);
    },
  };
  return reader;
}
