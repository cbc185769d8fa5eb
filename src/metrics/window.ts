/**
 * A rolling window over the last `size` outcomes of one stage: a duration
 * and whether it succeeded. Fixed memory; the oldest entry is overwritten.
 */
import { sortedLatencyStats, type LatencyStats } from './stats.ts';

export interface WindowStats extends LatencyStats {
  /** Outcomes in the window, succeeded or not; the latency figures cover the succeeded ones (`samples`). */
  count: number;
  /** Succeeded / outcomes, or undefined when the window is empty. */
  successRate: number | undefined;
}

/**
 * The succeeded durations are also kept sorted, as each outcome comes in and
 * the oldest goes: `stats()` runs on every `snapshot()` and every Prometheus
 * scrape, and then only reads quantiles (sorting 1000 samples per call cost
 * about 40 us). A push moves only the sorted values between where the oldest
 * duration leaves and where the new one goes.
 */
export class RollingWindow {
  readonly size: number;
  // Circular storage; #next is the slot the next push overwrites, #filled <= size.
  readonly #durations: Float64Array;
  readonly #ok: Uint8Array;
  // The #succeeded durations with ok = 1 among the #filled, in Float64Array sort order.
  readonly #sorted: Float64Array;
  #succeeded = 0;
  #next = 0;
  #filled = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Expected the window \`size\` to be a positive integer, got \`${String(size)}\``);
    }
    this.size = size;
    this.#durations = new Float64Array(size);
    this.#ok = new Uint8Array(size);
    this.#sorted = new Float64Array(size);
  }

  push(durationMs: number, ok: boolean): void {
    const slot = this.#next;
    const evicts = this.#filled === this.size && this.#ok[slot] === 1;
    if (evicts && ok) this.#replace(this.#durations[slot]!, durationMs);
    else if (evicts) this.#remove(this.#durations[slot]!);
    else if (ok) this.#insert(durationMs);
    this.#durations[slot] = durationMs;
    this.#ok[slot] = ok ? 1 : 0;
    this.#next = slot + 1 === this.size ? 0 : slot + 1;
    if (this.#filled < this.size) this.#filled++;
  }

  stats(): WindowStats {
    return {
      ...sortedLatencyStats(this.#sorted, this.#succeeded),
      count: this.#filled,
      successRate: this.#filled === 0 ? undefined : this.#succeeded / this.#filled,
    };
  }

  #insert(value: number): void {
    const sorted = this.#sorted;
    const at = lowerBound(sorted, this.#succeeded, value);
    sorted.copyWithin(at + 1, at, this.#succeeded);
    sorted[at] = value;
    this.#succeeded++;
  }

  #remove(value: number): void {
    const sorted = this.#sorted;
    // The window holds `value`, so the first element not before it is one equal to it.
    const at = lowerBound(sorted, this.#succeeded, value);
    sorted.copyWithin(at, at + 1, this.#succeeded);
    this.#succeeded--;
  }

  /** Removes `old` and inserts `value` in one move of the values between them. */
  #replace(old: number, value: number): void {
    const sorted = this.#sorted;
    const from = lowerBound(sorted, this.#succeeded, old);
    const to = lowerBound(sorted, this.#succeeded, value);
    if (to <= from) {
      sorted.copyWithin(to + 1, to, from);
      sorted[to] = value;
    } else {
      sorted.copyWithin(from, from + 1, to);
      sorted[to - 1] = value;
    }
  }
}

/** The first index in `sorted[0, count)` whose value does not sort before `value`. */
function lowerBound(sorted: Float64Array, count: number, value: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortsBefore(sorted[mid]!, value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The order of `Float64Array.prototype.sort`: numeric, -0 before +0, NaN last. */
function sortsBefore(a: number, b: number): boolean {
  if (a < b) return true;
  if (a === b) return a === 0 && 1 / a < 1 / b;
  return Number.isNaN(b) && !Number.isNaN(a);
}
