/**
 * The statistics of the report: per-variant summaries, ratios of medians with
 * a percentile-bootstrap 95% interval, and simple-statistics' permutation
 * test. Every random draw comes from a seeded PRNG, so a report recomputed
 * from the same samples gives the same intervals and p-values.
 */
import { mean, permutationTest, quantileSorted } from 'simple-statistics';
import { mulberry32 } from '../../test/support/prng.ts';
import type { Comparison, MetricDef, Summary } from './types.ts';

/** Below this many samples a p95 is not reported (the library's rule for tails too). */
export const MIN_TAIL_SAMPLES = 20;
export const BOOTSTRAP_RESAMPLES = 2000;
export const PERMUTATIONS = 10_000;

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize() needs at least one sample');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantileSorted(sorted, 0.5),
    p95: sorted.length >= MIN_TAIL_SAMPLES ? quantileSorted(sorted, 0.95) : null,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: mean(sorted),
  };
}

export function median(values: readonly number[]): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Compares `candidate` with `baseline` on one metric. The ratio is oriented
 * so that > 1 favours the candidate: baseline / candidate for a time,
 * candidate / baseline for a throughput.
 */
export function compare(
  metric: MetricDef,
  candidate: { name: string; values: readonly number[] },
  baseline: { name: string; values: readonly number[] },
  seed: number,
): Comparison {
  const lowerIsBetter = metric.better === 'lower';
  const ratioOf = (c: readonly number[], b: readonly number[]) => (lowerIsBetter ? median(b) / median(c) : median(c) / median(b));
  const ratio = ratioOf(candidate.values, baseline.values);
  const ci = bootstrapRatio(candidate.values, baseline.values, ratioOf, seed);
  // "Candidate better" is "baseline greater" for a time, "candidate greater" for a throughput.
  const [x, y] = lowerIsBetter ? [baseline.values, candidate.values] : [candidate.values, baseline.values];
  const p = permutationTest([...x], [...y], 'greater', PERMUTATIONS, mulberry32(seed ^ 0x5bd1e995));
  return {
    metric: metric.key,
    candidate: candidate.name,
    baseline: baseline.name,
    ratio,
    ci,
    p,
    pFloor: 1 / PERMUTATIONS,
    resamples: BOOTSTRAP_RESAMPLES,
    permutations: PERMUTATIONS,
  };
}

/** Percentile bootstrap: both groups resampled with replacement, independently. */
function bootstrapRatio(
  c: readonly number[],
  b: readonly number[],
  ratioOf: (c: readonly number[], b: readonly number[]) => number,
  seed: number,
): [number, number] {
  const rand = mulberry32(seed);
  const resample = (xs: readonly number[]) => Array.from(xs, () => xs[Math.floor(rand() * xs.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < BOOTSTRAP_RESAMPLES; i++) ratios.push(ratioOf(resample(c), resample(b)));
  ratios.sort((x, y) => x - y);
  return [quantileSorted(ratios, 0.025), quantileSorted(ratios, 0.975)];
}
