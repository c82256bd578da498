// The app's state on disk: one JSON file, replaced atomically (write a temporary file, then
// rename it over the old one), written shortly after each change and on shutdown.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { StoreSnapshot } from './store.js';

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

export class StateFile {
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dirty = false;

  /**
   * @param delayMs how long after a change the file is written: writes within that window are
   *   coalesced into one. A process killed with SIGKILL loses at most that window; SIGTERM loses nothing.
   */
  constructor(
    readonly file: string,
    private readonly snapshot: () => StoreSnapshot,
    private readonly logger: Logger,
    private readonly delayMs = 20,
  ) {}

  /** The saved state, or undefined when there is none yet. */
  static read(file: string): StoreSnapshot | undefined {
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as StoreSnapshot;
    } catch (err) {
      throw new StateFileError(`state file ${file} is not valid JSON (${(err as Error).message}); move it away to start empty`);
    }
  }

  /** Notes a change; the file is written after `delayMs`. */
  changed(): void {
    this.#dirty = true;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch((err: unknown) => this.logger.error({ err, file: this.file }, 'could not write the state file'));
    }, this.delayMs);
  }

  /** Writes pending changes now; resolves when they are on disk. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#writing) await this.#writing.catch(() => undefined);
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#writing = this.#write(JSON.stringify(this.snapshot()))
      .catch((err: unknown) => {
        this.#dirty = true; // try again with the next change or flush
        throw err;
      })
      .finally(() => {
        this.#writing = undefined;
      });
    await this.#writing;
  }

  /** Writes pending changes synchronously (process exit paths). */
  flushSync(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#dirty) return;
    this.#dirty = false;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.snapshot()));
    renameSync(tmp, this.file);
  }

  async #write(json: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(json);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
  }
}
