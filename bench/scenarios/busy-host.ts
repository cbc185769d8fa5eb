/**
 * busy-host: agents launched from a host whose main thread is busy most of
 * the time (CPU work in 50 ms or 10 ms blocks, one setImmediate between
 * blocks), beside the same host idle. The figure is the last agent's own
 * start clock (the epoch ms it prints first) minus the time spawnBatch()
 * was called: when the agents really started, not when the host noticed.
 * Plain execa, all 8 started in one synchronous loop, is the reference: it
 * needs the main thread only for that loop.
 */
import os from 'node:os';
import { execa } from 'execa';
import { type AgentSpec, resolveAgents } from '../../src/index.ts';
// The execa reference builds its prompts as the library's workers do; the builder is not public.
import { buildFromSpec } from '../../src/prompt/build.ts';
import { childrenCpuUs, mainThreadCpuUs } from '../../test/support/procfs.ts';
import { num, ratio } from '../lib/format.ts';
import { runInterleaved, type Variant } from '../lib/interleave.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const AGENTS = 8;
const BLOCKS = [50, 10] as const;
const LAST_START: MetricDef = { key: 'lastStartMs', label: "last agent's own start clock after spawnBatch()", unit: 'ms', better: 'lower' };
const OFF_MAIN_CPU: MetricDef = {
  key: 'offMainCpuMs',
  label: 'CPU off the main thread per batch (threads of this process + helper)',
  unit: 'ms',
  better: 'lower',
};

const VARIANTS: VariantInfo[] = [
  { name: 'spawnpool idle', role: 'baseline', description: 'spawner.spawnBatch(8 agents), the main thread idle meanwhile' },
  ...BLOCKS.map(
    (b): VariantInfo => ({
      name: `spawnpool busy ${b} ms`,
      role: 'candidate',
      description: `spawner.spawnBatch(8 agents), then the main thread burns CPU in ${b} ms blocks until every agent has exited`,
    }),
  ),
  {
    name: 'execa idle',
    role: 'reference',
    description: 'plain execa, the 8 agents started in one synchronous loop (prompts built beforehand), the main thread idle',
  },
  ...BLOCKS.map(
    (b): VariantInfo => ({
      name: `execa busy ${b} ms`,
      role: 'reference',
      description: `plain execa started in one synchronous loop, then ${b} ms blocks of CPU work`,
    }),
  ),
];

/** The host's work: `blockMs` of CPU, one event-loop turn, again, until `done()`. */
function busyHost(blockMs: number, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const block = () => {
      const end = performance.now() + blockMs;
      while (performance.now() < end);
      if (done()) resolve();
      else setImmediate(block);
    };
    block();
  });
}

function specs(): AgentSpec[] {
  return Array.from({ length: AGENTS }, (_, i) => ({
    name: `busy-${i + 1}`,
    command: 'sh',
    // Its own start clock first, then the prompt read to the end.
    args: ['-c', 'date +%s%3N; cat > /dev/null'],
    prompt: { template: 'Review part {{part}} of the change.\n{{body}}', vars: { part: i + 1, body: 'lorem ipsum dolor '.repeat(1350) } },
  }));
}

/** The latest start clock any agent printed, minus `calledAt`. */
function lastStart(stdouts: readonly string[], calledAt: number): number {
  return Math.max(...stdouts.map((s) => Number(s.trim().split('\n')[0]))) - calledAt;
}

export const busyHostScenario: Scenario = {
  name: 'busy-host',
  title: 'busy-host: agents start on time while the main thread is busy',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 10, full: 30 });
    const agents = resolveAgents(specs());
    const prompts = await Promise.all(agents.map((a) => buildFromSpec(a.prompt!, { agent: a.name, root: process.cwd() })));
    const spawner = benchSpawner(ctx, { workers: 2 });
    try {
      await spawner.ready;
      const launch = launchProbe(ctx);
      const withHost = async (blockMs: number | undefined, start: () => Promise<string[]>) => {
        let finished = false;
        const cpu0 = process.cpuUsage();
        const main0 = mainThreadCpuUs() ?? 0;
        const children0 = childrenCpuUs();
        const calledAt = Date.now();
        const outputs = start().finally(() => (finished = true));
        if (blockMs !== undefined) await busyHost(blockMs, () => finished);
        const stdouts = await outputs;
        const cpu = process.cpuUsage(cpu0);
        const offMainUs = cpu.user + cpu.system - ((mainThreadCpuUs() ?? 0) - main0) + Math.max(0, childrenCpuUs() - children0);
        return { lastStartMs: lastStart(stdouts, calledAt), offMainCpuMs: offMainUs / 1000 };
      };
      const spawnpool =
        (blockMs?: number): Variant['run'] =>
        () =>
          withHost(blockMs, async () => {
            const batch = spawner.spawnBatch(agents);
            const results = await batch.results;
            const bad = results.find((r) => !r.ok);
            if (bad) throw new Error(`agent ${bad.name} failed: ${bad.error?.message}`);
            return results.map((r) => r.stdout);
          });
      const plainExeca =
        (blockMs?: number): Variant['run'] =>
        () =>
          withHost(blockMs, async () => {
            const children = agents.map((a, i) => execa(a.command, a.args, { input: Buffer.from(prompts[i]!.bytes) }));
            return (await Promise.all(children)).map((c) => c.stdout);
          });
      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'busy-host',
        variants: [
          { name: 'spawnpool idle', run: spawnpool() },
          ...BLOCKS.map((b) => ({ name: `spawnpool busy ${b} ms`, run: spawnpool(b) })),
          { name: 'execa idle', run: plainExeca() },
          ...BLOCKS.map((b) => ({ name: `execa busy ${b} ms`, run: plainExeca(b) })),
        ],
      });
      const variants = variantResults(samples, VARIANTS);
      const median = (v: string) => summaryOf(variants, v, LAST_START.key).median;
      // ratio > 1 means the idle host is faster: busy/idle for a lower-is-better metric.
      const comparisons = BLOCKS.flatMap((b) => [
        ...compareAll(variants, LAST_START, 'spawnpool idle', [`spawnpool busy ${b} ms`], ctx.seed),
        ...compareAll(variants, LAST_START, 'execa idle', [`execa busy ${b} ms`], ctx.seed),
      ]);
      const slowdown = (b: number) => comparisons.find((c) => c.baseline === `spawnpool busy ${b} ms`)!;
      const execaSlowdown = (b: number) => median(`execa busy ${b} ms`) / median('execa idle');
      const at50 = slowdown(50);
      const offMain = summaryOf(variants, 'spawnpool idle', OFF_MAIN_CPU.key).median;
      const met = at50.ratio <= 1.15;
      const targets: Target[] = [
        {
          kind: 'timing',
          description: 'spawnpool busy/idle <= 1.15x at 50 ms blocks (last agent start)',
          measured: `${ratio(at50.ratio)} [${ratio(at50.ci[0])}, ${ratio(at50.ci[1])}] (${num(median('spawnpool busy 50 ms'))} vs ${num(median('spawnpool idle'))} ms); plain execa ${ratio(execaSlowdown(50))}`,
          met,
          ...(met
            ? {}
            : {
                bound: `nothing on the launch path waits for the main thread (test/batch/busy-host.test.ts: all 8 agents start and are counted while it is blocked in Atomics.wait), but a busy main thread also takes one of the ${os.availableParallelism()} cores. spawnpool then does its launch work (${num(offMain)} ms of CPU per batch off the main thread, idle host: the prompt builds, the launch thread${launch.path() === 'helper' ? ', the helper' : ''}) on what is left, beside the agents' own start-ups; plain execa did its forking on the main thread before the host got busy, and is ${ratio(execaSlowdown(50))}. At 10 ms blocks spawnpool is ${ratio(slowdown(10).ratio)}, plain execa ${ratio(execaSlowdown(10))}.`,
              }),
        },
      ];
      return {
        name: 'busy-host',
        title: this.title,
        params: {
          ...launch.params(),
          agents: AGENTS,
          agent: "sh -c 'date +%s%3N; cat > /dev/null'",
          promptBytes: prompts[0]!.bytes.byteLength,
          workers: 2,
          blocksMs: BLOCKS.join(', '),
          runs,
          warmup: ctx.warmup,
        },
        metrics: [LAST_START, OFF_MAIN_CPU],
        variants,
        comparisons,
        targets,
        facts: BLOCKS.map((b) => ({
          label: `busy/idle at ${b} ms blocks`,
          value: `spawnpool ${ratio(slowdown(b).ratio)}, plain execa ${ratio(execaSlowdown(b))}`,
        })),
        notes: [
          "The agents' start clock is `date +%s%3N`, the first thing each prints: when it really ran, whatever the host noticed.",
          'The busy host starts its first block right after spawnBatch() returns (or after the execa loop) and stops after the block in which every agent has exited.',
        ],
        charts: [{ metric: LAST_START.key, title: 'busy-host: last agent start after spawnBatch() (ms)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
    }
  },
};
