/**
 * seed-3, the seed's acceptance: 3 agents whose start is I/O-bound (a timer
 * of ~40 ms, then a ready line), light prompts. The old loop launches them
 * one after another; spawnpool launches them together.
 */
import { fileURLToPath } from 'node:url';
import { buildFromSpec } from '../../src/prompt/build.ts';
import { resolveAgents } from '../../src/spec/resolve.ts';
import type { AgentSpec } from '../../src/spec/schema.ts';
import { ratio, pValue, num } from '../lib/format.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import { runInterleaved } from '../lib/interleave.ts';
import { launchNaive } from '../lib/naive-launch.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { runSpawnpoolBatch } from '../lib/spawnpool-run.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const AGENT_SCRIPT = fileURLToPath(new URL('../agents/io-ready.mjs', import.meta.url));
const AGENTS = 3;
const READY = '^READY';

const WALL: MetricDef = { key: 'wallMs', label: 'time to all ready', unit: 'ms', better: 'lower' };
const SPAWN: MetricDef = { key: 'spawnMs', label: 'spawn latency (per agent)', unit: 'ms', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  { name: 'sequential', role: 'baseline', description: 'the old loop on the main thread: build the prompt, execa, wait for the ready line, next agent' },
  { name: 'spawnpool', role: 'candidate', description: 'spawner.spawnBatch(agents): prompts built on the worker pool, all launched at once' },
  { name: 'one-agent', role: 'reference', description: 'a single agent alone with plain execa: its own start-up, the floor for any launcher' },
];

function specs(): AgentSpec[] {
  return Array.from({ length: AGENTS }, (_, i) => ({
    name: `io-${i + 1}`,
    command: process.execPath,
    args: [AGENT_SCRIPT],
    ready: { stdout: READY },
    prompt: { template: 'You are {{agent}}. Review the change in {{file}} and report what breaks.', vars: { file: 'src/spawner.ts' } },
  }));
}

export const seed3: Scenario = {
  name: 'seed-3',
  title: "seed-3: the seed's acceptance (3 agents, I/O-bound start)",
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 20, full: 50 });
    const agents = resolveAgents(specs());
    const root = process.cwd();
    const ready = new RegExp(READY);
    const spawner = benchSpawner(ctx);
    try {
      await spawner.ready;
      const launch = launchProbe(ctx);
      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'seed-3',
        variants: [
          {
            name: 'sequential',
            async run() {
              const t0 = performance.now();
              const latencies: number[] = [];
              const exits: Promise<void>[] = [];
              for (const agent of agents) {
                const built = await buildFromSpec(agent.prompt!, { agent: agent.name, root });
                const launched = await launchNaive({ command: agent.command, args: agent.args, input: built.bytes, ready });
                latencies.push(launched.readyAt - t0);
                exits.push(launched.exited);
              }
              const wallMs = performance.now() - t0;
              await Promise.all(exits);
              return { wallMs, spawnMs: latencies };
            },
          },
          {
            name: 'spawnpool',
            async run() {
              const batch = await runSpawnpoolBatch(spawner, agents, { root });
              await batch.exited;
              return { wallMs: batch.wallMs, spawnMs: batch.spawnMs };
            },
          },
          {
            name: 'one-agent',
            async run() {
              const agent = agents[0]!;
              const t0 = performance.now();
              const built = await buildFromSpec(agent.prompt!, { agent: agent.name, root });
              const launched = await launchNaive({ command: agent.command, args: agent.args, input: built.bytes, ready });
              await launched.exited;
              return { wallMs: launched.readyAt - t0, spawnMs: [launched.readyAt - t0] };
            },
          },
        ],
      });
      const variants = variantResults(samples, VARIANTS);
      const comparisons = compareAll(variants, WALL, 'spawnpool', ['sequential'], ctx.seed);
      const speed = comparisons[0]!;
      const p95 = summaryOf(variants, 'spawnpool', SPAWN.key).p95;
      const alone = summaryOf(variants, 'one-agent', WALL.key);
      const seqWall = summaryOf(variants, 'sequential', WALL.key).median;
      const poolWall = summaryOf(variants, 'spawnpool', WALL.key).median;

      const targets: Target[] = [];
      const p95Met = p95 !== null && p95 <= 50;
      targets.push({
        kind: 'timing',
        description: 'spawnpool p95 spawn latency <= 50 ms',
        measured: p95 === null ? 'n/a (fewer than 20 samples)' : `${num(p95)} ms`,
        met: p95Met,
        ...(p95Met ? {} : { bound: `one agent alone needs ${num(alone.median)} ms (median) to print its ready line: Node start-up plus the 40 ms timer. ${alone.median > 50 ? 'That floor alone is over 50 ms, before any launcher work' : 'That floor is under 50 ms'}; with 3 start-ups sharing the cores, spawnpool's last agent is ready at ${num(poolWall)} ms (median)${p95 === null ? '' : `, and its spawn-latency p95 is ${num(p95)} ms`}.` }),
      });
      const speedMet = speed.ratio >= 3 && speed.p < 0.05;
      targets.push({
        kind: 'timing',
        description: 'speedup over sequential >= 3x with p < 0.05',
        measured: `${ratio(speed.ratio)} [${ratio(speed.ci[0])}, ${ratio(speed.ci[1])}], p ${pValue(speed.p, speed.pFloor)}`,
        met: speedMet,
        ...(speedMet ? {} : { bound: `with 3 agents the ceiling is 3x, reached only if 3 start-ups in parallel cost no more than one. Measured: one agent alone ${num(alone.median)} ms, 3 in parallel (spawnpool) ${num(poolWall)} ms, so parallel start-up costs ${ratio(poolWall / alone.median)} one start-up; sequential ${num(seqWall)} ms is ${ratio(seqWall / alone.median)} one start-up. Node start-up is CPU work, and ${AGENTS} of them share the machine's cores.` }),
      });

      return {
        name: 'seed-3',
        title: this.title,
        params: { ...launch.params(), agents: AGENTS, agent: 'bench/agents/io-ready.mjs (node, 40 ms timer)', ready: READY, runs, warmup: ctx.warmup },
        metrics: [WALL, SPAWN],
        variants,
        comparisons,
        targets,
        facts: [],
        notes: [
          "spawnpool's spawn latency is the library's own `timings.spawnMs` (batch start to the ready line); the baselines measure the same interval with performance.now() around their own code.",
          'The baseline is hand-written (no thread hop) rather than spawnpool\'s `mode: "sequential"`, so it carries none of spawnpool\'s costs.',
        ],
        charts: [{ metric: SPAWN.key, title: 'seed-3: spawn latency per agent (ms)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
    }
  },
};
