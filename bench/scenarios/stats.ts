/**
 * stats: what reading the metrics costs. `metrics.snapshot()` on full
 * 1000-record windows (each keeps its samples sorted as they come, so a
 * snapshot only reads), one window's `stats()`, the library's
 * `latencyStats()` on a plain array (sort once, read each quantile), and, for
 * reference, simple-statistics' `quantile()` called once per quantile (each
 * call copies and selects).
 */
import { quantile } from 'simple-statistics';
import { SpawnerMetrics, ringOf } from '../../src/metrics/spawner-metrics.ts';
import { latencyStats } from '../../src/metrics/stats.ts';
import { RollingWindow } from '../../src/metrics/window.ts';
import { buildRecord, exitRecord, spawnRecord, type MetricRecord, type RecordHeader, type RecordStage } from '../../src/metrics/record.ts';
import { num } from '../lib/format.ts';
import { runInterleaved } from '../lib/interleave.ts';
import { mulberry32 } from '../../test/support/prng.ts';
import { summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const WINDOW = 1000;
/** Issue 14's target for snapshot() on full windows. */
const SNAPSHOT_TARGET_US = 20;
const STAGES: readonly RecordStage[] = ['build', 'spawn', 'exit'];

const US: MetricDef = { key: 'usPerCall', label: 'time per call', unit: 'us', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  {
    name: 'snapshot',
    role: 'candidate',
    description: `spawner.metrics.snapshot(): drain (nothing pending) and stats of the spawn, build and run windows, each full (${WINDOW} records)`,
  },
  {
    name: 'window',
    role: 'candidate',
    description: `RollingWindow.stats() of one full window (${WINDOW} outcomes): mean, min, max, p50, p95, p99 and success rate read from the samples it keeps sorted`,
  },
  {
    name: 'latencyStats',
    role: 'candidate',
    description: `latencyStats() of ${WINDOW} samples in a plain array: one sorted copy, then mean, min, max, p50, p95, p99`,
  },
  {
    name: 'quantile-x3',
    role: 'reference',
    description: `simple-statistics quantile(samples, p) for p50, p95 and p99 on the same ${WINDOW} samples: a copy and a selection per call`,
  },
];

export const statsScenario: Scenario = {
  name: 'stats',
  title: 'stats: the cost of reading the metrics',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 20, full: 50 });
    const calls = ctx.tiny ? 20 : 200;
    const rand = mulberry32(ctx.seed);
    const metrics = new SpawnerMetrics({ windowSize: WINDOW });
    const ring = ringOf(metrics);
    for (const stage of STAGES) {
      for (let i = 0; i < WINDOW; i++) {
        const common: RecordHeader = { ok: true, errorCode: 0, agentId: i, batchId: 1, writerThreadId: 0, pid: 1000 + i, timestamp: Date.now() };
        ring.write(fakeRecord(stage, common, 5 + 100 * rand() ** 3, rand()));
      }
    }
    metrics.drain();
    const samples = Array.from({ length: WINDOW }, () => 5 + 100 * rand() ** 3);
    const window = new RollingWindow(WINDOW);
    for (let i = 0; i < 3 * WINDOW; i++) window.push(5 + 100 * rand() ** 3, rand() < 0.95);
    // Results go here so the calls cannot be optimised away.
    let sink = 0;
    const timed = (call: () => number) => async () => {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) sink += call();
      return { usPerCall: ((performance.now() - t0) * 1000) / calls };
    };
    const result = await runInterleaved({
      runs,
      warmup: ctx.warmup,
      progress: ctx.progress,
      label: 'stats',
      variants: [
        { name: 'snapshot', run: timed(() => metrics.snapshot().p95Ms ?? 0) },
        { name: 'window', run: timed(() => window.stats().p95Ms ?? 0) },
        { name: 'latencyStats', run: timed(() => latencyStats(samples).p95Ms ?? 0) },
        { name: 'quantile-x3', run: timed(() => quantile(samples, 0.5) + quantile(samples, 0.95) + quantile(samples, 0.99)) },
      ],
    });
    const snap = metrics.snapshot();
    if (!(sink > 0) || snap.count !== WINDOW || snap.build.count !== WINDOW || snap.run.count !== WINDOW) throw new Error('stats: the windows are not full');
    const variants = variantResults(result, VARIANTS);
    const perQuantile = summaryOf(variants, 'quantile-x3', US.key).median / 3;
    const snapshotUs = summaryOf(variants, 'snapshot', US.key).median;
    const targets: Target[] = [
      {
        kind: 'timing',
        description: `metrics.snapshot() <= ${SNAPSHOT_TARGET_US} us on three full windows of ${WINDOW}`,
        measured: `${num(snapshotUs)} us (median over runs)`,
        met: snapshotUs <= SNAPSHOT_TARGET_US,
        ...(snapshotUs <= SNAPSHOT_TARGET_US
          ? {}
          : {
              bound: `one window's stats() alone costs ${num(summaryOf(variants, 'window', US.key).median)} us (mean over the sorted samples, then three quantile reads), three of them per snapshot, plus the drain`,
            }),
      },
    ];
    return {
      name: 'stats',
      title: this.title,
      params: { window: WINDOW, callsPerRun: calls, runs, warmup: ctx.warmup },
      metrics: [US],
      variants,
      comparisons: [],
      targets,
      facts: [
        { label: 'snapshot() on three full windows', value: `${num(snapshotUs)} us (median)` },
        { label: 'simple-statistics quantile(), one call on 1000 samples', value: `${num(perQuantile)} us` },
      ],
      notes: ['Each run times a loop of calls and reports the mean per call; the table gives the distribution of that over runs.'],
      charts: [{ metric: US.key, title: 'stats: us per call' }],
      durationMs: performance.now() - started,
    };
  },
};

/** A record of `stage` taking `ms`: the figure its window keeps. */
function fakeRecord(stage: RecordStage, common: RecordHeader, ms: number, queueMs: number): MetricRecord {
  switch (stage) {
    case 'build':
      return buildRecord({ ...common, pid: 0, buildMs: ms, queueMs });
    case 'spawn':
      return spawnRecord({ ...common, spawnMs: ms, queueMs });
    case 'exit':
      return exitRecord({ ...common, runMs: ms, exitCode: 0 });
  }
}
