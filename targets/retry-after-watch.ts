// Whether clients honour the Retry-After this app sends (RFC 9110 §10.2.3), measured on the app's
// own clock: every answer with Retry-After opens a window until `now + seconds` for its caller (the
// request's X-Correlation-Id, the provisioner's workflow id; `anonymous` without one), and every
// SCIM request that arrives inside a window is counted: inside its own caller's window it is a
// breach (the caller was told to wait and did not); inside any caller's window it arrived while
// the app as a whole had asked for a pause. A request that arrives within IN_FLIGHT_MS of its
// caller's first Retry-After answer is not a breach: it was sent alongside the answered one (a
// workflow's parallel steps, each its own call, late on a loaded machine), before the caller could
// have read the answer. Kept across fault changes: a Retry-After sent while a fault was set still
// binds after the fault is cleared.

/** How long after an answer a request of the same caller counts as sent before the answer arrived. */
export const IN_FLIGHT_MS = 500;

export type RetryAfterCounts = {
  /** Answers that carried Retry-After. */
  given: number;
  /** Requests that arrived while a Retry-After given to their own caller had not passed. */
  breaches: number;
  /** The callers that breached, at most ten (correlation ids: workflow ids, no personal data). */
  breachingCallers: string[];
  /** Requests that arrived while a Retry-After given to any caller had not passed. */
  duringAnyRetryAfter: number;
  /** The longest a breaching request came early, ms. */
  earliestBreachMs: number;
};

export class RetryAfterWatch {
  #until = new Map<string, { from: number; until: number }>();
  #appUntil = 0;
  #counts: RetryAfterCounts = { given: 0, breaches: 0, breachingCallers: [], duringAnyRetryAfter: 0, earliestBreachMs: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** A SCIM request from `caller` arrived. */
  arrived(caller: string): void {
    const now = this.now();
    if (now < this.#appUntil) this.#counts.duringAnyRetryAfter += 1;
    const window = this.#until.get(caller);
    if (window === undefined) return;
    if (now >= window.until) {
      this.#until.delete(caller);
      return;
    }
    if (now < window.from + IN_FLIGHT_MS) return;
    this.#counts.breaches += 1;
    this.#counts.earliestBreachMs = Math.max(this.#counts.earliestBreachMs, Math.round(window.until - now));
    if (this.#counts.breachingCallers.length < 10 && !this.#counts.breachingCallers.includes(caller)) this.#counts.breachingCallers.push(caller);
  }

  /** The app answered `caller` with Retry-After: `seconds`. */
  gave(caller: string, seconds: number): void {
    const now = this.now();
    const until = now + seconds * 1000;
    this.#counts.given += 1;
    const open = this.#until.get(caller);
    this.#until.set(caller, open && open.until > now ? { from: open.from, until: Math.max(until, open.until) } : { from: now, until });
    this.#appUntil = Math.max(this.#appUntil, until);
  }

  counts(): RetryAfterCounts {
    return { ...this.#counts, breachingCallers: [...this.#counts.breachingCallers] };
  }
}
