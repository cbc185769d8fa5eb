/**
 * A rolling window over the last `size` outcomes of one stage: a duration
 * and whether it succeeded. Fixed memory; the oldest entry is overwritten.
 */
import { latencyStats, type LatencyStats } from './stats.ts';

export interface WindowStats extends LatencyStats {
  /** Outcomes in the window, succeeded or not; the latency figures cover the succeeded ones (`samples`). */
  count: number;
  /** Succeeded / outcomes, or undefined when the window is empty. */
  successRate: number | undefined;
}

export class RollingWindow {
  readonly size: number;
  // Circular storage; #next is the slot the next push overwrites, #filled <= size.
  readonly #durations: Float64Array;
  readonly #ok: Uint8Array;
  #next = 0;
  #filled = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Expected the window \`size\` to be a positive integer, got \`${String(size)}\``);
    }
    this.size = size;
    this.#durations = new Float64Array(size);
    this.#ok = new Uint8Array(size);
  }

  push(durationMs: number, ok: boolean): void {
    this.#durations[this.#next] = durationMs;
    this.#ok[this.#next] = ok ? 1 : 0;
    this.#next = (this.#next + 1) % this.size;
    if (this.#filled < this.size) this.#filled++;
  }

  get length(): number {
    return this.#filled;
  }

  stats(): WindowStats {
    const succeeded: number[] = [];
    for (let i = 0; i < this.#filled; i++) if (this.#ok[i] === 1) succeeded.push(this.#durations[i]!);
    return {
      ...latencyStats(succeeded),
      count: this.#filled,
      successRate: this.#filled === 0 ? undefined : succeeded.length / this.#filled,
    };
  }
}
