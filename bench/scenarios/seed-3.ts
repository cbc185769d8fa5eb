/**
 * seed-3, the seed's acceptance: 3 agents whose start is I/O-bound (a timer
 * of ~40 ms, then a ready line), light prompts. The old loop launches them
 * one after another; spawnpool launches them together.
 */
import { fileURLToPath } from 'node:url';
import { type AgentSpec, resolveAgents } from '../../src/index.ts';
// The old loop builds each prompt on the main thread with the library's own builder, which is not public.
import { buildFromSpec } from '../../src/prompt/build.ts';
import { ratio, pValue, num } from '../lib/format.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import { runInterleaved } from '../lib/interleave.ts';
import { launchNaive } from '../lib/naive-launch.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { runSpawnpoolBatch } from '../lib/spawnpool-run.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

// A shell script: its own start-up costs a few ms of CPU, so the start is the 40 ms wait, as the
// scenario means (a Node agent spends ~110 ms of CPU starting here, which makes its start CPU-bound).
const AGENT_SCRIPT = fileURLToPath(new URL('../agents/io-ready.sh', import.meta.url));
const AGENTS = 3;
const READY = '^READY';

const WALL: MetricDef = { key: 'wallMs', label: 'time to all ready', unit: 'ms', better: 'lower' };
const SPAWN: MetricDef = { key: 'spawnMs', label: 'spawn latency (per agent)', unit: 'ms', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  { name: 'sequential', role: 'baseline', description: 'the old loop on the main thread: build the prompt, execa, wait for the ready line, next agent' },
  { name: 'spawnpool', role: 'candidate', description: 'spawner.spawnBatch(agents): prompts built on the worker pool, all launched at once' },
  { name: 'one-agent', role: 'reference', description: 'a single agent alone with plain execa: its own start-up, the floor for any launcher' },
  {
    name: 'all-at-once',
    role: 'reference',
    description:
      "the 3 agents started together with plain execa from the main thread (prompts built there too: they are light): the floor for 3 concurrent start-ups on this machine, with none of spawnpool's work",
  },
];

function specs(): AgentSpec[] {
  return Array.from({ length: AGENTS }, (_, i) => ({
    name: `io-${i + 1}`,
    command: AGENT_SCRIPT,
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
            name: 'all-at-once',
            async run() {
              const t0 = performance.now();
              const launched = await Promise.all(
                agents.map(async (agent) => {
                  const built = await buildFromSpec(agent.prompt!, { agent: agent.name, root });
                  return launchNaive({ command: agent.command, args: agent.args, input: built.bytes, ready });
                }),
              );
              const latencies = launched.map((l) => l.readyAt - t0);
              await Promise.all(launched.map((l) => l.exited));
              return { wallMs: Math.max(...latencies), spawnMs: latencies };
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
      const together = summaryOf(variants, 'all-at-once', WALL.key);

      const targets: Target[] = [];
      const p95Met = p95 !== null && p95 <= 50;
      targets.push({
        kind: 'timing',
        description: 'spawnpool p95 spawn latency <= 50 ms',
        measured: p95 === null ? 'n/a (fewer than 20 samples)' : `${num(p95)} ms`,
        met: p95Met,
        ...(p95Met
          ? {}
          : {
              bound: `one agent alone needs ${num(alone.median)} ms (median) to print its ready line: its start-up (sh, then sleep) plus the 40 ms timer. ${alone.median > 50 ? 'That floor alone is over 50 ms, before any launcher work' : 'That floor is under 50 ms'}; with 3 start-ups sharing the cores, spawnpool's last agent is ready at ${num(poolWall)} ms (median)${p95 === null ? '' : `, and its spawn-latency p95 is ${num(p95)} ms`}. The same 3 agents started together with plain execa and no spawnpool are all ready at ${num(together.median)} ms (median; p95 ${together.p95 === null ? 'n/a' : num(together.p95)} ms): 3 start-ups at once cost that much on this machine.`,
            }),
      });
      const speedMet = speed.ratio >= 3 && speed.p < 0.05;
      targets.push({
        kind: 'timing',
        description: 'speedup over sequential >= 3x with p < 0.05',
        measured: `${ratio(speed.ratio)} [${ratio(speed.ci[0])}, ${ratio(speed.ci[1])}], p ${pValue(speed.p, speed.pFloor)}`,
        met: speedMet,
        ...(speedMet
          ? {}
          : {
              bound: `with 3 agents the ceiling is 3x, reached only if 3 start-ups in parallel cost no more than one. Measured: one agent alone ${num(alone.median)} ms, 3 in parallel (spawnpool) ${num(poolWall)} ms, so parallel start-up costs ${ratio(poolWall / alone.median)} one start-up (and ${ratio(together.median / alone.median)} with plain execa and no spawnpool: the machine's own cost of 3 start-ups at once); sequential ${num(seqWall)} ms is ${ratio(seqWall / alone.median)} one start-up. What a start-up costs beyond the timer (fork and exec of sh, sleep and cat, and the launcher's own work) is CPU, and ${AGENTS} of them share the machine's cores.`,
            }),
      });

      return {
        name: 'seed-3',
        title: this.title,
        params: { ...launch.params(), agents: AGENTS, agent: 'bench/agents/io-ready.sh (sh: sleep 0.04, then READY)', ready: READY, runs, warmup: ctx.warmup },
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
