/**
 * Runs a comparison's variants interleaved, one run of each per round, so a
 * slow phase of a shared machine hits every variant alike rather than
 * whichever ran then. The first variant of a round rotates, so no variant
 * always follows the same one. Warm-up rounds (JIT, caches, first-use
 * loading) run first and are discarded.
 */
import type { Progress } from './progress.ts';

/**
 * What one run measured. A number is one sample of that metric; an array
 * (e.g. each agent's spawn latency) is pooled with the other runs' arrays.
 */
export type RunSample = Record<string, number | readonly number[]>;

export interface RunInfo {
  round: number;
  /** A warm-up run: its sample is discarded, so it may be smaller. */
  warmup: boolean;
}

export interface Variant {
  name: string;
  run(info: RunInfo): Promise<RunSample>;
}

export interface InterleaveOptions {
  variants: readonly Variant[];
  runs: number;
  warmup: number;
  progress: Progress;
  /** Progress label prefix, e.g. the scenario name. */
  label: string;
}

/** Samples per variant name, per metric key, warm-up excluded. */
export type Samples = Map<string, Record<string, number[]>>;

export async function runInterleaved(options: InterleaveOptions): Promise<Samples> {
  const { variants, runs, warmup, progress, label } = options;
  const rounds = warmup + runs;
  progress.plan(rounds * variants.length);
  const samples: Samples = new Map(variants.map((v) => [v.name, {}]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      const sample = await variant.run({ round, warmup: round < warmup });
      progress.tick(`${label} ${variant.name} ${round < warmup ? 'warm-up' : `run ${round - warmup + 1}/${runs}`}`);
      if (round < warmup) continue;
      const into = samples.get(variant.name)!;
      for (const [key, value] of Object.entries(sample)) {
        const list = (into[key] ??= []);
        if (typeof value === 'number') list.push(value);
        else list.push(...value);
      }
    }
  }
  return samples;
}
