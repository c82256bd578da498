// Every write the app applied, with the app's own clock: the benchmarks count time-to-provision up
// to the target's timestamp of its last write, and tests check what reached the app (and how often).
import { performance } from 'node:perf_hooks';
import type { ResourceType } from './store.js';

export type WriteOperation = 'create' | 'replace' | 'patch' | 'delete';

export type WriteEntry = {
  /** 1, 2, 3, ...: the order the writes were applied in. */
  seq: number;
  /** When the write was applied: milliseconds since the epoch, sub-millisecond resolution. */
  at: number;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  operation: WriteOperation;
  resourceType: ResourceType;
  id: string;
  externalId?: string;
  /** The version after the write (none after a delete). */
  version?: string;
  /** False when the request was accepted but left the resource as it was (a repeat). */
  changed: boolean;
  /** Members (ids) a group write added or removed. */
  membersAdded?: string[];
  membersRemoved?: string[];
  /** A group changed as a consequence of deleting one of its members. */
  cascade?: true;
};

/** Wall-clock milliseconds with the monotonic clock's resolution. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export class WriteLog {
  #entries: WriteEntry[] = [];
  #seq = 0;

  constructor(private readonly capacity = 200_000) {}

  record(entry: Omit<WriteEntry, 'seq' | 'at'>): WriteEntry {
    this.#seq += 1;
    const full: WriteEntry = { seq: this.#seq, at: preciseNow(), ...entry };
    this.#entries.push(full);
    // Oldest entries go first when the log is full (a long benchmark); `seq` shows the gap.
    if (this.#entries.length > this.capacity) this.#entries.splice(0, this.#entries.length - this.capacity);
    return full;
  }

  /** Entries with seq > `since`, oldest first, at most `limit`. */
  list(options: { since?: number; limit?: number } = {}): WriteEntry[] {
    const oldest = this.#entries[0];
    if (!oldest) return [];
    // Sequence numbers in the buffer are contiguous, so the first wanted entry is found by arithmetic.
    const first = Math.max(0, (options.since ?? 0) - oldest.seq + 1);
    return this.#entries.slice(first, options.limit === undefined ? undefined : first + options.limit);
  }

  get lastSeq(): number {
    return this.#seq;
  }

  clear(): void {
    this.#entries = [];
  }
}
