// Faults a target app injects into its SCIM API, set at start or through /admin/faults: latency,
// a rate limit (429 + Retry-After), 5xx answers, and writes that commit but never answer (the next
// N, or a share of all), writes answered late, memberships refused for good, slow deletes and user
// deletes answered but lost. Whether callers wait out the Retry-After they get is watched (retry-after-watch.ts).
import type { RequestHandler } from 'express';
import type { Faults } from './apps-file.js';
import { RetryAfterWatch, type RetryAfterCounts } from './retry-after-watch.js';
import { sendScimError } from './scim-errors.js';

export type FaultCounters = { delayed: number; rateLimited: number; failed: number; dropped: number; refused: number; lost: number };

export type FaultsView = {
  faults: Faults;
  /** What is left of the "next N" faults. */
  remaining: { failNext: number; dropAfterCommitNext: number };
  /** How often each fault fired since the faults were last set. */
  injected: FaultCounters;
  /** Retry-After answers and the requests that came before they passed, since the app started. */
  retryAfter: RetryAfterCounts;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultInjector {
  #faults: Faults = {};
  #failNext = 0;
  #dropNext = 0;
  #bucket = { tokens: 0, at: 0 };
  #counters: FaultCounters = { delayed: 0, rateLimited: 0, failed: 0, dropped: 0, refused: 0, lost: 0 };
  readonly #watch: RetryAfterWatch;

  constructor(
    initial: Faults = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.#watch = new RetryAfterWatch(now);
    this.set(initial);
  }

  /** Replaces every fault (and restarts the counters and the rate limiter's bucket). */
  set(faults: Faults): void {
    this.#faults = { ...faults };
    this.#failNext = faults.failNext ?? 0;
    this.#dropNext = faults.dropAfterCommitNext ?? 0;
    this.#bucket = { tokens: this.#burst(), at: this.now() };
    this.#counters = { delayed: 0, rateLimited: 0, failed: 0, dropped: 0, refused: 0, lost: 0 };
  }

  clear(): void {
    this.set({});
  }

  view(): FaultsView {
    const { failNext: _f, dropAfterCommitNext: _d, ...rest } = this.#faults;
    return {
      faults: { ...rest, ...(this.#failNext ? { failNext: this.#failNext } : {}), ...(this.#dropNext ? { dropAfterCommitNext: this.#dropNext } : {}) },
      remaining: { failNext: this.#failNext, dropAfterCommitNext: this.#dropNext },
      injected: { ...this.#counters },
      retryAfter: this.#watch.counts(),
    };
  }

  /** For a write that was just applied: should its connection be dropped instead of answered? */
  takeDropAfterCommit(): boolean {
    if (this.#dropNext > 0) this.#dropNext -= 1;
    else if (!(this.#faults.dropAfterCommitRate !== undefined && this.#faults.dropAfterCommitRate > 0 && this.random() < this.#faults.dropAfterCommitRate)) return false;
    this.#counters.dropped += 1;
    return true;
  }

  /** For a PATCH adding `externalIds` to the group `group` (its displayName): the status refusing it, if a fault says so. */
  refusesMembers(group: string, externalIds: readonly (string | undefined)[]): 400 | 409 | undefined {
    const f = this.#faults.refuseMembers;
    if (!f || f.group.toLowerCase() !== group.toLowerCase() || !externalIds.some((id) => id !== undefined && f.externalIds.includes(id))) return undefined;
    this.#counters.refused += 1;
    return f.status ?? 400;
  }

  /** For a write that was just applied: how long its answer waits. */
  writeAnswerDelay(): number {
    const ms = this.#faults.writeAnswerDelayMs ?? 0;
    if (ms > 0) this.#counters.delayed += 1;
    return ms;
  }

  /** For a DELETE of a user: should it be answered without deleting? */
  takeLostUserDelete(): boolean {
    if (!this.#faults.loseUserDeletes) return false;
    this.#counters.lost += 1;
    return true;
  }

  /** Express middleware for the SCIM API: latency, then the rate limit, then injected 5xx answers. */
  middleware(): RequestHandler {
    return async (req, res, next) => {
      const caller = req.get('x-correlation-id') ?? 'anonymous';
      this.#watch.arrived(caller);
      const f = this.#faults;
      const delay = (f.latencyMs ?? 0) + (f.jitterMs ? Math.floor(this.random() * f.jitterMs) : 0) + (req.method === 'DELETE' ? (f.deleteLatencyMs ?? 0) : 0);
      if (delay > 0) {
        this.#counters.delayed += 1;
        await sleep(delay);
      }
      const retryAfter = this.#rateLimited();
      if (retryAfter !== undefined) {
        this.#counters.rateLimited += 1;
        // RFC 6585 §4: 429 Too Many Requests, with Retry-After in seconds (RFC 9110 §10.2.3).
        res.setHeader('Retry-After', String(retryAfter));
        this.#watch.gave(caller, retryAfter);
        sendScimError(res, 429, undefined, `rate limit exceeded: at most ${f.rateLimit!.requestsPerSecond} requests per second`);
        return;
      }
      if (this.#failNext > 0 || (f.errorRate !== undefined && f.errorRate > 0 && this.random() < f.errorRate)) {
        const status = this.#failNext > 0 ? 503 : (f.errorStatus ?? 503);
        if (this.#failNext > 0) this.#failNext -= 1;
        this.#counters.failed += 1;
        if (f.retryAfterSeconds !== undefined) {
          res.setHeader('Retry-After', String(f.retryAfterSeconds));
          this.#watch.gave(caller, f.retryAfterSeconds);
        }
        sendScimError(res, status, undefined, status === 503 ? 'service unavailable (injected fault)' : `server error ${status} (injected fault)`);
        return;
      }
      next();
    };
  }

  #burst(): number {
    const limit = this.#faults.rateLimit;
    return limit ? (limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond))) : 0;
  }

  /** A token bucket refilled at requestsPerSecond; returns Retry-After seconds when empty. */
  #rateLimited(): number | undefined {
    const limit = this.#faults.rateLimit;
    if (!limit) return undefined;
    const now = this.now();
    const burst = this.#burst();
    this.#bucket.tokens = Math.min(burst, this.#bucket.tokens + ((now - this.#bucket.at) / 1000) * limit.requestsPerSecond);
    this.#bucket.at = now;
    if (this.#bucket.tokens >= 1) {
      this.#bucket.tokens -= 1;
      return undefined;
    }
    return limit.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - this.#bucket.tokens) / limit.requestsPerSecond));
  }
}
