/** Turns interleaved samples into the report's variant rows and comparisons. */
import type { Samples } from './interleave.ts';
import { compare, summarize } from './stats.ts';
import type { Comparison, MetricDef, VariantResult, VariantRole } from './types.ts';

export interface VariantInfo {
  name: string;
  role: VariantRole;
  description: string;
}

export function variantResults(samples: Samples, infos: readonly VariantInfo[]): VariantResult[] {
  // A variant a mode leaves out (fanout's execa-64 in quick mode) has no samples and no place in the report.
  return infos
    .filter((info) => samples.has(info.name))
    .map((info) => {
      const byMetric = samples.get(info.name) ?? {};
      const summary = Object.fromEntries(
        Object.entries(byMetric)
          .filter(([, v]) => v.length > 0)
          .map(([k, v]) => [k, summarize(v)]),
      );
      return { ...info, samples: byMetric, summary };
    });
}

/** Candidate against each baseline on `metric`. Seeds differ per pair so the resamples are independent. */
export function compareAll(variants: readonly VariantResult[], metric: MetricDef, candidate: string, baselines: readonly string[], seed: number): Comparison[] {
  const values = (name: string) => {
    const v = variants.find((x) => x.name === name)?.samples[metric.key];
    if (v === undefined || v.length === 0) throw new Error(`no samples of ${metric.key} for variant ${name}`);
    return { name, values: v };
  };
  return baselines.map((b, i) => compare(metric, values(candidate), values(b), (seed + 7919 * (i + 1)) >>> 0));
}

/** The summary of `metric` for `variant`, which must exist. */
export function summaryOf(variants: readonly VariantResult[], variant: string, metric: string) {
  const s = variants.find((v) => v.name === variant)?.summary[metric];
  if (s === undefined) throw new Error(`no summary of ${metric} for variant ${variant}`);
  return s;
}
