/**
 * Shapes of the benchmark harness: what a scenario gets, what it returns, and
 * the report written to bench/results. Everything in a Report is plain JSON.
 */
import type { MachineInfo } from './machine.ts';
import type { Progress } from './progress.ts';

export type Mode = 'quick' | 'full';

/** Distribution of one metric over a variant's measured runs. */
export interface Summary {
  n: number;
  median: number;
  /** null under 20 samples: a tail quantile from a handful of points is not reported. */
  p95: number | null;
  min: number;
  max: number;
  mean: number;
}

/** A measured quantity. `better` says which direction a ratio calls an improvement. */
export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
}

export type VariantRole = 'candidate' | 'baseline' | 'reference';

export interface VariantResult {
  name: string;
  role: VariantRole;
  description: string;
  /** Raw samples per metric key, in run order (warm-up excluded). */
  samples: Record<string, number[]>;
  summary: Record<string, Summary>;
}

/** One "X times better" claim: ratio of medians with its bootstrap interval and a permutation-test p-value. */
export interface Comparison {
  metric: string;
  candidate: string;
  baseline: string;
  /** > 1: the candidate is better (faster, higher throughput). */
  ratio: number;
  /** 95% percentile-bootstrap interval of the ratio. */
  ci: [number, number];
  /** One-sided permutation test (difference of means) of "the candidate is better". */
  p: number;
  /** Smallest p the test can report (1 / permutations); a p of 0 means "below this". */
  pFloor: number;
  resamples: number;
  permutations: number;
}

export interface Target {
  /** timing: depends on the machine; correctness: must hold anywhere (the smoke test checks these). */
  kind: 'timing' | 'correctness';
  description: string;
  measured: string;
  met: boolean;
  /** For a missed target: what bounds it, from measurements. */
  bound?: string;
}

/** A measured figure that is not a per-run distribution (a diagnostic, a counter). */
export interface Fact {
  label: string;
  value: string;
}

export interface ChartSpec {
  metric: string;
  title: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  params: Record<string, string | number | boolean>;
  metrics: MetricDef[];
  variants: VariantResult[];
  comparisons: Comparison[];
  targets: Target[];
  facts: Fact[];
  notes: string[];
  charts: ChartSpec[];
  durationMs: number;
  /** Set when the scenario threw: its message. The other scenarios still ran. */
  error?: string;
}

export interface Report {
  tool: 'spawnpool-bench';
  schema: 1;
  mode: Mode;
  /** Tiny sizes (the smoke test): figures mean nothing, only the structure is checked. */
  tiny: boolean;
  startedAt: string;
  durationMs: number;
  seed: number;
  /** The --launcher choice, or "default" (the library's own choice). */
  launcher: string;
  machine: MachineInfo;
  scenarios: ScenarioResult[];
}

/** What a scenario gets from the harness. */
export interface ScenarioContext {
  mode: Mode;
  tiny: boolean;
  /** Measured runs per variant: the --runs override, else the scenario's default for the mode. */
  runs(defaults: { quick: number; full: number; tiny?: number }): number;
  /** Warm-up rounds run first and discarded. */
  warmup: number;
  seed: number;
  progress: Progress;
  /** Launcher for the spawners the scenarios create; undefined: the library's default. */
  launcher: BenchLauncher | undefined;
}

export type BenchLauncher = 'direct' | 'helper' | 'auto';

export interface Scenario {
  name: string;
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
