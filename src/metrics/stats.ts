/**
 * Latency statistics with simple-statistics. Tail quantiles need enough
 * samples to mean something: below MIN_TAIL_SAMPLES, p95 and p99 are
 * `undefined`, never a number made up from a handful of points.
 */
import { mean, quantileSorted } from 'simple-statistics';

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
    avgMs: mean(x),
    minMs: x[0],
    maxMs: x[count - 1],
    p50Ms: quantileSorted(x, 0.5),
    p95Ms: tail ? quantileSorted(x, 0.95) : undefined,
    p99Ms: tail ? quantileSorted(x, 0.99) : undefined,
  };
}
