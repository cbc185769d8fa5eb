/**
 * Latency statistics with simple-statistics. Tail quantiles need enough
 * samples to mean something: below MIN_TAIL_SAMPLES, p95 and p99 are
 * `undefined`, never a number made up from a handful of points.
 */
import { quantileSorted } from 'simple-statistics';

export const MIN_TAIL_SAMPLES = 20;

export interface LatencyStats {
  /** Number of samples the figures are computed from. */
  samples: number;
  avgMs: number | undefined;
  minMs: number | undefined;
  maxMs: number | undefined;
  p50Ms: number | undefined;
  /** undefined below 20 samples. */
  p95Ms: number | undefined;
  /** undefined below 20 samples. */
  p99Ms: number | undefined;
}

/** Stats over `samples` (ms). Sorts a copy once (a Float64Array: numeric sort, no comparator calls), then reads each quantile from it. */
export function latencyStats(samples: ArrayLike<number>): LatencyStats {
  return sortedLatencyStats(Float64Array.from(samples).sort(), samples.length);
}

/**
 * Stats over the first `count` values of `sorted`, which must be in the order
 * `Float64Array.prototype.sort` gives (see RollingWindow, which keeps its
 * samples so). Reads, never copies or sorts: the figures are exactly those of
 * {@link latencyStats} over the same samples.
 */
export function sortedLatencyStats(sorted: Float64Array, count: number): LatencyStats {
  if (count === 0) {
    return { samples: 0, avgMs: undefined, minMs: undefined, maxMs: undefined, p50Ms: undefined, p95Ms: undefined, p99Ms: undefined };
  }
  // simple-statistics only indexes its input, so a typed array serves as the sorted array.
  const x = (count === sorted.length ? sorted : sorted.subarray(0, count)) as unknown as number[];
  const tail = count >= MIN_TAIL_SAMPLES;
  return {
    samples: count,
    avgMs: meanOf(sorted, count),
    minMs: x[0],
    maxMs: x[count - 1],
    p50Ms: quantileSorted(x, 0.5),
    p95Ms: tail ? quantileSorted(x, 0.95) : undefined,
    p99Ms: tail ? quantileSorted(x, 0.99) : undefined,
  };
}

/**
 * simple-statistics' mean() of the first `count` values: its Neumaier-compensated sum, the same
 * operations in the same order, so the result is bit for bit the same. Written out so that its
 * element loads stay typed-array loads: simple-statistics' sum() is shared with every other
 * caller in the process, and once one passes plain arrays (the bench harness does) its loads go
 * generic, several times slower on a full window.
 */
function meanOf(x: Float64Array, count: number): number {
  let sum = x[0]!;
  let correction = 0;
  for (let i = 1; i < count; i++) {
    const v = x[i]!;
    const transition = sum + v;
    if (Math.abs(sum) >= Math.abs(v)) correction += sum - transition + v;
    else correction += v - transition + sum;
    sum = transition;
  }
  return (sum + correction) / count;
}
