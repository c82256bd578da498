// A small HDR-style histogram: log-spaced buckets with 1% relative precision, from 1 µs to
// hours, so percentiles are within 1% of the true value whatever the spread. Values in ms.
export class Histogram {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #min = Infinity;
  #max = -Infinity;
  #sum = 0;
  static readonly #base = Math.log(1.01);
  static readonly #floor = 0.001;

  record(ms: number): void {
    const v = Math.max(ms, Histogram.#floor);
    const bucket = Math.floor(Math.log(v / Histogram.#floor) / Histogram.#base);
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#count += 1;
    this.#sum += ms;
    this.#min = Math.min(this.#min, ms);
    this.#max = Math.max(this.#max, ms);
  }

  get count(): number {
    return this.#count;
  }

  /** The value at percentile p (0..100): the upper edge of its bucket, capped at the exact max. */
  percentile(p: number): number {
    if (this.#count === 0) return NaN;
    if (p >= 100) return this.#max;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket)!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, Histogram.#floor * Math.exp((bucket + 1) * Histogram.#base)));
    }
    return this.#max;
  }

  summary(): { count: number; min: number; p50: number; p95: number; p99: number; max: number; mean: number } {
    const r = (v: number) => Math.round(v * 10) / 10;
    return {
      count: this.#count,
      min: r(this.#count ? this.#min : NaN),
      p50: r(this.percentile(50)),
      p95: r(this.percentile(95)),
      p99: r(this.percentile(99)),
      max: r(this.#count ? this.#max : NaN),
      mean: r(this.#count ? this.#sum / this.#count : NaN),
    };
  }
}
