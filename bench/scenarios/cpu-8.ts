/**
 * cpu-8: 8 agents whose prompts each take ~20 ms of real CPU (the real
 * builder tokenizing and truncating a ~400 KB context to 16,000 tokens);
 * the agent is `dd`, which drains its stdin like `cat` and writes nothing.
 * Measures the wall time to all spawned and what the main thread's event
 * loop suffered meanwhile.
 */
import { once } from 'node:events';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { resolveAgents, type ResolvedAgent } from '../../src/index.ts';
// The naive baseline builds each prompt on the main thread with the library's own builder, which is not public.
import { buildFromSpec } from '../../src/prompt/build.ts';
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
import { mainThreadSched } from '../../test/support/procfs.ts';

const AGENTS = 8;
const MAX_TOKENS = 16_000;
/** Tiny mode (the smoke test): a small context and budget, to check the wiring in seconds. */
const TINY = { contextBytes: 64 * 1024, maxTokens: 2000 };
/** A run's figures, plus its agents' exits (awaited after the measured window). */
interface Measured {
  sample: RunSample;
  exits: Promise<unknown>;
}

const BUSY_WORKER = new URL('../workers/busy.mjs', import.meta.url);
const DRAIN_AGENT = { command: 'dd', args: ['of=/dev/null', 'bs=64k', 'status=none'] };

const WALL: MetricDef = { key: 'wallMs', label: 'time to all spawned', unit: 'ms', better: 'lower' };
const LOOP_P99: MetricDef = { key: 'loopP99Ms', label: 'event-loop delay p99', unit: 'ms', better: 'lower' };
const LOOP_MAX: MetricDef = { key: 'loopMaxMs', label: 'event-loop delay max', unit: 'ms', better: 'lower' };
const BUILD: MetricDef = { key: 'buildMs', label: 'prompt build (per agent)', unit: 'ms', better: 'lower' };
const CALL: MetricDef = { key: 'spawnCallMs', label: 'execa() call on the main thread (per agent)', unit: 'ms', better: 'lower' };
const RAN: MetricDef = { key: 'mainRanMs', label: 'main thread on a core (schedstat)', unit: 'ms', better: 'lower' };
const WAITED: MetricDef = { key: 'mainWaitedMs', label: 'main thread runnable, waiting for a core (schedstat)', unit: 'ms', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  { name: 'sequential', role: 'baseline', description: 'one after another on the main thread: build the prompt, execa, wait for the spawn event, next' },
  {
    name: 'promise-all-main',
    role: 'baseline',
    description: 'the naive concurrent way: Promise.all over agents, each building its prompt on the main thread (buildFromSpec) then launching with execa',
  },
  {
    name: 'spawnpool',
    role: 'candidate',
    description: 'spawner.spawnBatch(agents): prompts built on the Piscina workers, launched from the main thread as each is ready',
  },
  {
    name: 'busy-workers',
    role: 'reference',
    description:
      "as many threads as spawnpool has build workers burn CPU for as long as spawnpool's last batch took, while the main thread does nothing: its event-loop delay from waiting for a core alone",
  },
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
    const workers = Math.min(4, os.availableParallelism());
    const busy = Array.from({ length: workers }, () => new Worker(BUSY_WORKER));
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
        const before = mainThreadSched();
        const { value, delay } = await measureLoopDelay(work);
        const after = mainThreadSched();
        // Exits are awaited outside the measured window: the next run starts on a quiet machine.
        await value.exits;
        const sched: RunSample =
          before === undefined || after === undefined
            ? {}
            : { mainRanMs: (after.ranUs - before.ranUs) / 1000, mainWaitedMs: (after.waitedUs - before.waitedUs) / 1000 };
        return { ...value.sample, loopP99Ms: delay.p99Ms, loopMaxMs: delay.maxMs, ...sched };
      };
      const build = async (agent: ResolvedAgent) => {
        const t = performance.now();
        const built = await buildFromSpec(agent.prompt!, { agent: agent.name, root: fixture.root });
        return { bytes: built.bytes, ms: performance.now() - t };
      };

      // How long the busy-workers reference burns CPU: spawnpool's latest batch, so both windows match.
      let lastPoolWall = 300;
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
              return {
                sample: { wallMs, buildMs: launched.map((l) => l.built.ms), spawnCallMs: launched.map((l) => l.launch.callMs) },
                exits: Promise.all(launched.map((l) => l.launch.exited)),
              };
            }),
          },
          {
            name: 'spawnpool',
            run: measured(async () => {
              const batch = await runSpawnpoolBatch(spawner, agents);
              lastPoolWall = batch.wallMs;
              return { sample: { wallMs: batch.wallMs, buildMs: batch.buildMs }, exits: batch.exited };
            }),
          },
          {
            name: 'busy-workers',
            run: measured(async () => {
              await Promise.all(
                busy.map((w) => {
                  const done = once(w, 'message');
                  w.postMessage(lastPoolWall);
                  return done;
                }),
              );
              return { sample: {}, exits: Promise.resolve() };
            }),
          },
        ],
      });

      const variants = variantResults(samples, VARIANTS);
      const comparisons = [
        ...compareAll(variants, WALL, 'spawnpool', ['sequential', 'promise-all-main'], ctx.seed),
        ...compareAll(variants, LOOP_P99, 'spawnpool', ['promise-all-main'], ctx.seed + 1),
      ];
      const loop = summaryOf(variants, 'spawnpool', LOOP_P99.key);
      const worst = summaryOf(variants, 'spawnpool', LOOP_MAX.key).max;
      const overSeq = comparisons[0]!;
      const seqBuild = summaryOf(variants, 'sequential', BUILD.key).median;
      const poolBuild = summaryOf(variants, 'spawnpool', BUILD.key).median;
      const seqWall = summaryOf(variants, 'sequential', WALL.key).median;
      const poolWall = summaryOf(variants, 'spawnpool', WALL.key).median;
      const call = summaryOf(variants, 'sequential', CALL.key);
      const cores = os.availableParallelism();

      const targets: Target[] = [];
      const speedMet = overSeq.ratio >= 1.8;
      targets.push({
        kind: 'timing',
        description: 'spawnpool >= 1.8x faster than sequential (time to all spawned)',
        measured: `${ratio(overSeq.ratio)} [${ratio(overSeq.ci[0])}, ${ratio(overSeq.ci[1])}], p ${pValue(overSeq.p, overSeq.pFloor)}`,
        met: speedMet,
        ...(speedMet
          ? {}
          : {
              bound: `the work is CPU on ${cores} cores. Sequential spends ${num(AGENTS * seqBuild)} ms of its ${num(seqWall)} ms building (${num(seqBuild)} ms per prompt, median) and the rest launching. In spawnpool a prompt takes ${num(poolBuild)} ms on a worker while the other workers build too (${ratio(poolBuild / seqBuild)} a build alone: the ${workers} workers share the ${cores} cores with the main thread, the launcher and the rest of the machine, load average ${os.loadavg()[0]!.toFixed(1)} now), so the ${AGENTS} builds on ${workers} workers alone need ${num((AGENTS / workers) * poolBuild)} ms of spawnpool's ${num(poolWall)} ms.`,
            }),
      });
      const idleLoop = summaryOf(variants, 'busy-workers', LOOP_P99.key).median;
      const waited = (name: string) => variants.find((v) => v.name === name)?.summary[WAITED.key]?.median;
      const ran = variants.find((v) => v.name === 'spawnpool')?.summary[RAN.key]?.median;
      const poolWaited = waited('spawnpool');
      const contention =
        `With the main thread idle and ${workers} threads burning CPU on ${cores} cores (reference busy-workers), its event-loop delay p99 is already ${num(idleLoop)} ms (median per run, machine load average ${os.loadavg()[0]!.toFixed(1)} at the end): that much is waiting for a core.` +
        (poolWaited === undefined || ran === undefined
          ? ''
          : ` In a spawnpool batch the main thread was on a core ${num(ran)} ms and runnable but waiting for one ${num(poolWaited)} ms (medians per run, /proc schedstat; ${num(waited('busy-workers') ?? Number.NaN)} ms in busy-workers): its delays are mostly that wait, for cores the build workers, the launch thread, the helper and the agents were using.`);
      const loopMet = loop.median <= 1;
      targets.push({
        kind: 'timing',
        description: 'spawnpool main-thread event-loop delay p99 <= 1 ms (median of per-run p99)',
        measured: `${num(loop.median)} ms (median over runs of each run's p99; worst single delay ${num(worst)} ms)`,
        met: loopMet,
        ...(loopMet
          ? {}
          : {
              bound: `${contention} The rest is spawnpool's: its main thread neither builds, forks nor relays prompts (launch path ${launch.path()}, from the launch thread); it receives the agents' events (a few messages per batch: the launch thread sends a burst of 8, then one per 10 ms) and drains their records, and shares the ${cores} cores with the ${workers} build workers, the launch thread${launch.path() === 'helper' ? ', the helper' : ''} and the agents. Its worst single delay was ${num(worst)} ms; one execa() call on a main thread holds it ${num(call.median)} ms (median, max ${num(call.max)} ms, measured in the sequential baseline).`,
            }),
      });

      return {
        name: 'cpu-8',
        title: this.title,
        params: {
          ...launch.params(),
          agents: AGENTS,
          context: `${num(fixture.bytes / 1024)} KB generated text`,
          maxTokens,
          agent: 'dd of=/dev/null (drains stdin)',
          workers,
          runs,
          warmup: ctx.warmup,
        },
        metrics: [WALL, LOOP_P99, LOOP_MAX, BUILD, CALL, RAN, WAITED],
        variants,
        comparisons,
        targets,
        facts: [
          {
            label: 'prompt build, median per agent',
            value: `${num(seqBuild)} ms alone on the main thread; ${num(poolBuild)} ms on a worker in a concurrent batch; ${num(median(variants.find((v) => v.name === 'promise-all-main')!.samples[BUILD.key]!))} ms in promise-all-main (includes waiting for the other builds on the same thread)`,
          },
        ],
        notes: [
          'Event-loop delay: perf_hooks.monitorEventLoopDelay sampling every 1 ms, during the measured window only (start of the batch to the last spawn); the 1 ms interval is subtracted.',
          "Wall time stops at the last spawn event; the agents' exits are awaited outside the measured window.",
          "Main thread on a core / waiting for one: the first two fields of /proc/self/task/<pid>/schedstat, read at the start and end of the measured window. 'On a core' includes the event-loop sampler's own turns (every 1 ms; busy-workers, whose main thread does nothing else, shows what they cost).",
        ],
        charts: [{ metric: WALL.key, title: 'cpu-8: time to all 8 spawned (ms)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await Promise.all(busy.map((w) => w.terminate()));
      await spawner.close();
      await fixture.remove();
    }
  },
};
