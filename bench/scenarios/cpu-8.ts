/**
 * cpu-8: 8 agents whose prompts each take ~20 ms of real CPU (the real
 * builder tokenizing and truncating a ~400 KB context to 16,000 tokens);
 * the agent is `dd`, which drains its stdin like `cat` and writes nothing.
 * Measures the wall time to all spawned and what the main thread's event
 * loop suffered meanwhile.
 */
import os from 'node:os';
import { buildFromSpec } from '../../src/prompt/build.ts';
import { resolveAgents, type ResolvedAgent } from '../../src/spec/resolve.ts';
import { createContextFixture } from '../lib/context-fixture.ts';
import { measureLoopDelay } from '../lib/event-loop.ts';
import { num, pValue, ratio } from '../lib/format.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import { runInterleaved, type RunSample } from '../lib/interleave.ts';
import { launchNaive } from '../lib/naive-launch.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { runSpawnpoolBatch } from '../lib/spawnpool-run.ts';
import { median } from '../lib/stats.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const AGENTS = 8;
const MAX_TOKENS = 16_000;
/** Tiny mode (the smoke test): a small context and budget, to check the wiring in seconds. */
const TINY = { contextBytes: 64 * 1024, maxTokens: 2000 };
/** A run's figures, plus its agents' exits (awaited after the measured window). */
interface Measured {
  sample: RunSample;
  exits: Promise<unknown>;
}

const DRAIN_AGENT = { command: 'dd', args: ['of=/dev/null', 'bs=64k', 'status=none'] };

const WALL: MetricDef = { key: 'wallMs', label: 'time to all spawned', unit: 'ms', better: 'lower' };
const LOOP_P99: MetricDef = { key: 'loopP99Ms', label: 'event-loop delay p99', unit: 'ms', better: 'lower' };
const LOOP_MAX: MetricDef = { key: 'loopMaxMs', label: 'event-loop delay max', unit: 'ms', better: 'lower' };
const BUILD: MetricDef = { key: 'buildMs', label: 'prompt build (per agent)', unit: 'ms', better: 'lower' };
const ELU: MetricDef = { key: 'elu', label: 'main-thread event-loop utilization', unit: '', better: 'lower' };
const CALL: MetricDef = { key: 'spawnCallMs', label: 'execa() call on the main thread (per agent)', unit: 'ms', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  { name: 'sequential', role: 'baseline', description: 'one after another on the main thread: build the prompt, execa, wait for the spawn event, next' },
  { name: 'promise-all-main', role: 'baseline', description: 'the naive concurrent way: Promise.all over agents, each building its prompt on the main thread (buildFromSpec) then launching with execa' },
  { name: 'spawnpool', role: 'candidate', description: 'spawner.spawnBatch(agents): prompts built on the Piscina workers, launched from the main thread as each is ready' },
];

export const cpu8: Scenario = {
  name: 'cpu-8',
  title: 'cpu-8: 8 agents with CPU-heavy prompts',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 20, full: 50 });
    const maxTokens = ctx.tiny ? TINY.maxTokens : MAX_TOKENS;
    const fixture = await createContextFixture(ctx.tiny ? TINY.contextBytes : undefined);
    const spawner = benchSpawner(ctx, { root: fixture.root });
    try {
      await spawner.ready;
      const launch = launchProbe(ctx);
      const agents = resolveAgents(
        Array.from({ length: AGENTS }, (_, i) => ({
          name: `cpu-${i + 1}`,
          ...DRAIN_AGENT,
          prompt: { template: 'You are {{agent}}. Summarise the design notes below for a new engineer.', context: [fixture.file], maxTokens },
        })),
      );
      const measured = (work: () => Promise<Measured>) => async (): Promise<RunSample> => {
        const elu0 = performance.eventLoopUtilization();
        const { value, delay } = await measureLoopDelay(work);
        const elu = performance.eventLoopUtilization(elu0).utilization;
        // Exits are awaited outside the measured window: the next run starts on a quiet machine.
        await value.exits;
        return { ...value.sample, loopP99Ms: delay.p99Ms, loopMaxMs: delay.maxMs, elu };
      };
      const build = async (agent: ResolvedAgent) => {
        const t = performance.now();
        const built = await buildFromSpec(agent.prompt!, { agent: agent.name, root: fixture.root });
        return { bytes: built.bytes, ms: performance.now() - t };
      };

      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'cpu-8',
        variants: [
          {
            name: 'sequential',
            run: measured(async () => {
              const t0 = performance.now();
              const buildMs: number[] = [];
              const spawnCallMs: number[] = [];
              const exits: Promise<void>[] = [];
              for (const agent of agents) {
                const built = await build(agent);
                const launched = await launchNaive({ ...DRAIN_AGENT, input: built.bytes });
                buildMs.push(built.ms);
                spawnCallMs.push(launched.callMs);
                exits.push(launched.exited);
              }
              return { sample: { wallMs: performance.now() - t0, buildMs, spawnCallMs }, exits: Promise.all(exits) };
            }),
          },
          {
            name: 'promise-all-main',
            run: measured(async () => {
              const t0 = performance.now();
              const launched = await Promise.all(
                agents.map(async (agent) => {
                  const built = await build(agent);
                  return { built, launch: await launchNaive({ ...DRAIN_AGENT, input: built.bytes }) };
                }),
              );
              const wallMs = performance.now() - t0;
              return { sample: { wallMs, buildMs: launched.map((l) => l.built.ms), spawnCallMs: launched.map((l) => l.launch.callMs) }, exits: Promise.all(launched.map((l) => l.launch.exited)) };
            }),
          },
          {
            name: 'spawnpool',
            run: measured(async () => {
              const batch = await runSpawnpoolBatch(spawner, agents);
              return { sample: { wallMs: batch.wallMs, buildMs: batch.buildMs }, exits: batch.exited };
            }),
          },
        ],
      });

      const variants = variantResults(samples, VARIANTS);
      const comparisons = [...compareAll(variants, WALL, 'spawnpool', ['sequential', 'promise-all-main'], ctx.seed), ...compareAll(variants, LOOP_P99, 'spawnpool', ['promise-all-main'], ctx.seed + 1)];
      const loop = summaryOf(variants, 'spawnpool', LOOP_P99.key);
      const worst = summaryOf(variants, 'spawnpool', LOOP_MAX.key).max;
      const overSeq = comparisons[0]!;
      const seqBuild = summaryOf(variants, 'sequential', BUILD.key).median;
      const poolBuild = summaryOf(variants, 'spawnpool', BUILD.key).median;
      const seqWall = summaryOf(variants, 'sequential', WALL.key).median;
      const poolWall = summaryOf(variants, 'spawnpool', WALL.key).median;
      const call = summaryOf(variants, 'sequential', CALL.key);
      const cores = os.availableParallelism();
      const workers = Math.min(4, cores);

      const targets: Target[] = [];
      const speedMet = overSeq.ratio >= 1.8;
      targets.push({
        kind: 'timing',
        description: 'spawnpool >= 1.8x faster than sequential (time to all spawned)',
        measured: `${ratio(overSeq.ratio)} [${ratio(overSeq.ci[0])}, ${ratio(overSeq.ci[1])}], p ${pValue(overSeq.p, overSeq.pFloor)}`,
        met: speedMet,
        ...(speedMet ? {} : {
          bound: `building is the work, and it is CPU: a prompt takes ${num(seqBuild)} ms on the idle main thread (sequential) but ${num(poolBuild)} ms on a worker while the other workers also build, so ${workers} workers on ${cores} cores give at most ${ratio((workers * seqBuild) / poolBuild)} (${workers} x ${num(seqBuild)} / ${num(poolBuild)}); the ${AGENTS} builds alone take ${num((AGENTS / workers) * poolBuild)} ms of the ${num(poolWall)} ms wall, against ${num(seqWall)} ms sequential.`,
        }),
      });
      const loopMet = loop.median <= 3;
      targets.push({
        kind: 'timing',
        description: 'spawnpool main-thread event-loop delay p99 <= 3 ms (median of per-run p99)',
        measured: `${num(loop.median)} ms (median over runs of each run's p99; worst single delay ${num(worst)} ms)`,
        met: loopMet,
        ...(loopMet ? {} : {
          bound:
            launch.path() === 'helper'
              ? `spawnpool launched through its helper process here (launch path helper), so its main thread forked nothing; it was busy ${pct(summaryOf(variants, 'spawnpool', ELU.key).median)} of each batch (event-loop utilization, median) and its worst single delay was ${num(worst)} ms, while ${workers} build workers and the helper competed with it for ${cores} cores.`
              : `the main thread still makes every spawn: one execa() call holds it ${num(call.median)} ms (median, max ${num(call.max)} ms, measured in the sequential baseline) and a batch makes ${AGENTS}; the longest delay seen was ${num(worst)} ms. Meanwhile ${workers} build workers keep ${cores} cores busy, so the main thread also waits for a core.`,
        }),
      });

      return {
        name: 'cpu-8',
        title: this.title,
        params: { ...launch.params(), agents: AGENTS, context: `${num(fixture.bytes / 1024)} KB generated text`, maxTokens, agent: 'dd of=/dev/null (drains stdin)', workers, runs, warmup: ctx.warmup },
        metrics: [WALL, LOOP_P99, LOOP_MAX, ELU, BUILD, CALL],
        variants,
        comparisons,
        targets,
        facts: [
          { label: 'prompt build, median per agent', value: `${num(seqBuild)} ms alone on the main thread; ${num(poolBuild)} ms on a worker in a concurrent batch; ${num(median(variants.find((v) => v.name === 'promise-all-main')!.samples[BUILD.key]!))} ms in promise-all-main (includes waiting for the other builds on the same thread)` },
        ],
        notes: [
          'Event-loop delay: perf_hooks.monitorEventLoopDelay sampling every 1 ms, during the measured window only (start of the batch to the last spawn); the 1 ms interval is subtracted.',
          'Wall time stops at the last spawn event; the agents\' exits are awaited outside the measured window.',
        ],
        charts: [{ metric: WALL.key, title: 'cpu-8: time to all 8 spawned (ms)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
      await fixture.remove();
    }
  },
};

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
