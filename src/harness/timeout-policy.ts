/**
 * The timeout each attempt runs under: the smallest of the agent's own
 * `timeoutMs`, the harness's `timeoutMs`, and a relative timeout, `factor`
 * times the median run time (spawned to exit) of the attempts that
 * succeeded so far (GNU parallel's `--timeout 300%`). The relative one
 * applies once `minSamples` attempts have succeeded; before that an attempt
 * has only the fixed timeouts, as GNU parallel's has none.
 *
 * Unlike GNU parallel, which re-reads the median while a job runs, an
 * attempt's timeout is fixed when it starts: the launcher enforces it (tree
 * kill, stage `timeout`), not a watcher here.
 */
import { RESOLVED, type ResolvedAgent } from '../spec/resolve.ts';

/**
 * A timeout relative to the median run time so far, as GNU parallel's `--timeout 300%`.
 *
 * @example
 * await runHarness(spawner, runs, { relativeTimeout: { factor: 3, minSamples: 5 } }); // 3x the median, after 5 successes
 */
export interface RelativeTimeout {
  /** Multiple of the median run time of the succeeded attempts (> 1: 3 means 300%). */
  factor: number;
  /**
   * Succeeded attempts needed before it applies (as GNU parallel).
   * @default 1
   */
  minSamples?: number;
}

export class TimeoutPolicy {
  readonly #fixed: number | undefined;
  readonly #factor: number | undefined;
  readonly #minSamples: number;
  readonly #median = new RunningMedian();

  constructor(timeoutMs: number | undefined, relative: RelativeTimeout | undefined) {
    this.#fixed = timeoutMs;
    this.#factor = relative?.factor;
    this.#minSamples = relative?.minSamples ?? 1;
  }

  /** A succeeded attempt's run time (ms). */
  succeeded(durationMs: number): void {
    if (this.#factor !== undefined) this.#median.add(durationMs);
  }

  /** The relative timeout now, or undefined while there are too few samples (or none is asked for). */
  get relativeMs(): number | undefined {
    if (this.#factor === undefined || this.#median.size < this.#minSamples) return undefined;
    return Math.max(1, Math.ceil(this.#factor * this.#median.median()));
  }

  /** The agent with the timeout its next attempt runs under (the same object when nothing changes). */
  apply(spec: ResolvedAgent): ResolvedAgent {
    const timeoutMs = smallest(spec.timeoutMs, this.#fixed, this.relativeMs);
    return timeoutMs === spec.timeoutMs ? spec : { ...spec, [RESOLVED]: true, timeoutMs };
  }
}

function smallest(...values: (number | undefined)[]): number | undefined {
  let min: number | undefined;
  for (const v of values) if (v !== undefined && (min === undefined || v < min)) min = v;
  return min;
}

/** The exact median of a growing set of numbers: two heaps, O(log n) per add, O(1) per read. */
export class RunningMedian {
  // low: a max-heap of the smaller half (stored negated); high: a min-heap of the larger half. |low| - |high| is 0 or 1.
  readonly #low = new MinHeap();
  readonly #high = new MinHeap();

  get size(): number {
    return this.#low.size + this.#high.size;
  }

  add(value: number): void {
    if (this.#low.size === 0 || value <= -this.#low.peek()) this.#low.push(-value);
    else this.#high.push(value);
    if (this.#low.size > this.#high.size + 1) this.#high.push(-this.#low.pop());
    else if (this.#high.size > this.#low.size) this.#low.push(-this.#high.pop());
  }

  /** NaN when empty. */
  median(): number {
    if (this.size === 0) return Number.NaN;
    if (this.#low.size > this.#high.size) return -this.#low.peek();
    return (-this.#low.peek() + this.#high.peek()) / 2;
  }
}

class MinHeap {
  readonly #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): number {
    return this.#a[0]!;
  }

  push(v: number): void {
    const a = this.#a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= v) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
