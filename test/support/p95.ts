/**
 * How far Prometheus's p95 is from spawnpool's, relatively. spawnpool interpolates between the two samples around
 * rank 0.95 (n - 1); histogram_quantile interpolates inside the bucket of the sample at rank ceil(0.95 n). With a
 * gap in the tail (seen on a loaded machine: 60 ms then 72 ms, or 88 then 120) the two definitions differ by the
 * gap, whatever the buckets; the estimate is then held to the sample its own rank names. Either way within 10%
 * means the buckets resolve spawn latency where it falls.
 */
export function p95Error(prometheusP95: number, spawnMs: readonly number[], ownP95: number): number {
  const sorted = spawnMs.map((ms) => ms / 1000).sort((a, b) => a - b);
  const atRank = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
  return Math.min(Math.abs(prometheusP95 - ownP95) / ownP95, Math.abs(prometheusP95 - atRank) / atRank);
}
