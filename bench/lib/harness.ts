/**
 * The harness's programmatic entry: runs the chosen scenarios one after
 * another, then writes the report. bench/main.ts is its command line; the
 * smoke test calls it directly.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../scenarios/index.ts';
import { loadAvg, machineInfo } from './machine.ts';
import { createProgress } from './progress.ts';
import { writeReport, type WrittenFiles } from './report-write.ts';
import type { BenchLauncher, Mode, Report, Scenario, ScenarioContext, ScenarioResult } from './types.ts';

export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const DEFAULT_SEED = 0x5eed;

export interface BenchOptions {
  mode?: Mode;
  /** Scenario names; default all, in the registry's order. */
  scenarios?: readonly string[];
  /** Measured runs per variant for every scenario (default: each scenario's own for the mode). */
  runs?: number;
  /** Warm-up rounds, discarded. Default 1. */
  warmup?: number;
  /** Tiny sizes: checks the wiring, measures nothing worth reading. */
  tiny?: boolean;
  /** Folder for latest.json / latest.md / latest.svg. Default bench/results. */
  outDir?: string;
  /** Also write the JSON report here. */
  jsonFile?: string;
  /** No progress bar. */
  quiet?: boolean;
  seed?: number;
  /** How the scenarios' spawners fork agents. Default: the library's default. */
  launcher?: BenchLauncher;
}

export interface BenchRun {
  report: Report;
  files: WrittenFiles;
  /** The Markdown report, as written to latest.md. */
  markdown: string;
}

const LAUNCHERS: readonly BenchLauncher[] = ['direct', 'helper', 'auto'];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

/** Runs the benchmarks and writes the report. Throws on an unknown scenario name or a bad option. */
export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const mode = options.mode ?? 'quick';
  const names = options.scenarios && options.scenarios.length > 0 ? [...new Set(options.scenarios)] : SCENARIO_NAMES;
  const unknown = names.filter((n) => !SCENARIO_NAMES.includes(n));
  if (unknown.length > 0) throw new RangeError(`Unknown scenario ${unknown.map((n) => `\`${n}\``).join(', ')}: expected one of ${SCENARIO_NAMES.join(', ')}`);
  if (options.runs !== undefined && !(Number.isInteger(options.runs) && options.runs >= 1)) {
    throw new RangeError(`Expected the \`runs\` option to be a positive integer, got \`${String(options.runs)}\``);
  }
  const warmup = options.warmup ?? 1;
  if (!(Number.isInteger(warmup) && warmup >= 0))
    throw new RangeError(`Expected the \`warmup\` option to be a non-negative integer, got \`${String(options.warmup)}\``);
  const tiny = options.tiny ?? false;
  if (options.launcher !== undefined && !LAUNCHERS.includes(options.launcher)) {
    throw new RangeError(`Expected the \`launcher\` option to be one of ${LAUNCHERS.join(', ')}, got \`${String(options.launcher)}\``);
  }
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;

  const machine = machineInfo();
  const startedAt = new Date();
  const started = performance.now();
  const progress = createProgress(options.quiet ?? false);
  const ctx: ScenarioContext = {
    mode,
    tiny,
    warmup,
    seed,
    progress,
    launcher: options.launcher,
    runs: (d) => options.runs ?? (tiny ? (d.tiny ?? 2) : d[mode]),
  };
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of SCENARIOS.filter((s) => names.includes(s.name))) {
      const t0 = performance.now();
      try {
        results.push(await scenario.run(ctx));
      } catch (error) {
        // One broken scenario must not throw away the others' minutes of measurements.
        results.push(failedScenario(scenario, error, performance.now() - t0));
      }
    }
  } finally {
    progress.stop();
  }
  machine.loadAvgEnd = loadAvg();
  const report: Report = {
    tool: 'spawnpool-bench',
    schema: 1,
    mode,
    tiny,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    seed,
    launcher: options.launcher ?? 'default',
    machine,
    scenarios: results,
  };
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const { files, markdown } = await writeReport(report, outDir, options.jsonFile);
  return { report, files, markdown };
}

function failedScenario(scenario: Scenario, error: unknown, durationMs: number): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    name: scenario.name,
    title: scenario.title,
    params: {},
    metrics: [],
    variants: [],
    comparisons: [],
    targets: [{ kind: 'correctness', description: 'the scenario ran to the end', measured: `failed: ${message}`, met: false }],
    facts: [],
    notes: [],
    charts: [],
    durationMs,
    error: error instanceof Error && error.stack ? error.stack : message,
  };
}
