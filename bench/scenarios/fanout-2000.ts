/**
 * fanout-2000: 2,000 `/bin/true` agents, 64 in flight, no prompt. Pure
 * process fan-out: what launching costs, per agent, from each launcher.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { resolveAgents } from '../../src/index.ts';
import { num, ratio } from '../lib/format.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import { runInterleaved, type RunInfo, type RunSample } from '../lib/interleave.ts';
import { childrenCpuUs, mainThreadCpuUs } from '../../test/support/procfs.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const COMMAND = '/bin/true';
/** Agents per run in quick mode: twice the concurrency, so half of each run's launches wait for a slot, as in a big fan-out. */
const QUICK_AGENTS = 128;

const RATE: MetricDef = { key: 'agentsPerSec', label: 'throughput', unit: 'agents/s', better: 'higher' };
const WALL: MetricDef = { key: 'wallMs', label: 'time to all exited', unit: 'ms', better: 'lower' };
const CPU: MetricDef = { key: 'cpuUsPerAgent', label: 'bench-process CPU per agent', unit: 'us', better: 'lower' };
const MAIN_CPU: MetricDef = { key: 'mainCpuUsPerAgent', label: 'main-thread CPU per agent', unit: 'us', better: 'lower' };
const HELPER_CPU: MetricDef = { key: 'helperCpuUsPerAgent', label: 'helper-process CPU per agent', unit: 'us', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  {
    name: 'raw-node',
    role: 'baseline',
    description: "child_process.spawn('/bin/true', { stdio: 'ignore' }), the next one started on each 'exit', as many in flight as the others",
  },
  {
    name: 'xargs',
    role: 'baseline',
    description: '`xargs -P <concurrency> -n 1 /bin/true` fed one line per agent (a C program: the practical limit); timed from spawning xargs to its exit',
  },
  { name: 'spawnpool', role: 'candidate', description: 'spawner.spawnBatch(agents, { concurrency }), awaiting batch.results' },
  {
    name: 'execa-64',
    role: 'reference',
    description:
      "plain execa with the options spawnpool passes (detached, stdout/stderr piped, stdin ignored), same concurrency: the part of spawnpool's cost that is execa's",
  },
];

export const fanout2000: Scenario = {
  name: 'fanout-2000',
  title: 'fanout-2000: /bin/true agents, 64 in flight (2,000 per run with --full, 128 in quick mode)',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 20, full: 20 });
    const full = ctx.mode === 'full';
    // Quick mode keeps 20 interleaved runs and 64 in flight but launches QUICK_AGENTS per run:
    // at the ~50-200 forks/s measured here, 20 rounds of 2,000 per variant take tens of minutes.
    const agentsCount = ctx.tiny ? 16 : full ? 2000 : QUICK_AGENTS;
    const concurrency = ctx.tiny ? 4 : 64;
    const specs = Array.from({ length: agentsCount }, (_, i) => ({ name: `f-${i}`, command: COMMAND }));
    const resolveStart = performance.now();
    const agents = resolveAgents(specs);
    const resolveMs = performance.now() - resolveStart;

    const spawner = benchSpawner(ctx);
    try {
      await spawner.ready;
      const launch = launchProbe(ctx);
      // A warm-up round launches a tenth of the agents: enough to warm the JIT, without doubling the scenario's time.
      const warmCount = Math.max(concurrency, Math.round(agentsCount / 10));
      const timed =
        (work: (count: number) => Promise<void>) =>
        async (info: RunInfo): Promise<RunSample> => {
          const count = info.warmup ? warmCount : agentsCount;
          const cpu0 = process.cpuUsage();
          const main0 = mainThreadCpuUs() ?? 0;
          const children0 = childrenCpuUs();
          const t0 = performance.now();
          await work(count);
          const wallMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          const mainUs = (mainThreadCpuUs() ?? 0) - main0;
          const childrenUs = childrenCpuUs() - children0;
          return {
            wallMs,
            agentsPerSec: (count / wallMs) * 1000,
            cpuUsPerAgent: (cpu.user + cpu.system) / count,
            mainCpuUsPerAgent: mainUs / count,
            helperCpuUsPerAgent: Math.max(0, childrenUs) / count,
          };
        };
      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'fanout',
        variants: [
          { name: 'raw-node', run: timed((n) => pool(n, concurrency, rawSpawn)) },
          { name: 'xargs', run: timed((n) => xargs(n, concurrency)) },
          {
            name: 'spawnpool',
            run: timed(async (n) => {
              const results = await spawner.spawnBatch(n === agentsCount ? agents : agents.slice(0, n), { concurrency }).results;
              const bad = results.find((r) => !r.ok);
              if (bad) throw new Error(`spawnpool agent ${bad.name} failed at ${bad.stage}: ${bad.error?.message ?? ''}`);
            }),
          },
          // A reference that explains the bound, not a comparison: full mode only, to keep quick mode quick.
          ...(full || ctx.tiny ? [{ name: 'execa-64', run: timed((n) => pool(n, concurrency, execaSpawn)) }] : []),
        ],
      });

      const variants = variantResults(samples, VARIANTS);
      const comparisons = compareAll(variants, RATE, 'spawnpool', ['raw-node', 'xargs'], ctx.seed);
      const vsRaw = comparisons[0]!;
      const rate = (v: string) => summaryOf(variants, v, RATE.key).median;
      const cpu = (v: string) => summaryOf(variants, v, CPU.key).median;
      const helperCpu = (v: string) => summaryOf(variants, v, HELPER_CPU.key).median;
      const mainCpu = summaryOf(variants, 'spawnpool', MAIN_CPU.key).median;
      const mainMet = mainCpu <= 50;
      const met = vsRaw.ratio >= 0.8;
      const hasExeca = variants.some((v) => v.name === 'execa-64');
      const execaPart = () =>
        hasExeca
          ? ` Plain execa with spawnpool's options alone spends ${num(cpu('execa-64'))} us per agent and reaches ${num(rate('execa-64'))} agents/s (${ratio(rate('execa-64') / rate('raw-node'))} raw Node): the part of the cost that is execa and its pipes.`
          : " (--full adds plain execa with spawnpool's options as a reference: the part of the cost that is execa and its pipes.)";
      const directBound = () =>
        `the bench process spends ${num(cpu('spawnpool'))} us of CPU per agent under spawnpool against ${num(cpu('raw-node'))} us for raw spawn (a serial ceiling of ${num(1e6 / cpu('spawnpool'))} vs ${num(1e6 / cpu('raw-node'))} agents/s if all of it were on one thread).${execaPart()}`;
      const helperBound = () =>
        `spawnpool forked through its helper process here (launch path helper: the host's RSS is over the threshold). The helper spends ${num(helperCpu('spawnpool'))} us of CPU per agent on its one event loop, a ceiling of ${num(1e6 / helperCpu('spawnpool'))} agents/s for one helper at 100% of a core; the host spends ${num(cpu('spawnpool'))} us per agent more. Raw Node spends ${num(cpu('raw-node'))} us per agent in one process.${execaPart()}`;
      const bound = launch.path() === 'helper' ? helperBound() : directBound();
      const targets: Target[] = [
        {
          kind: 'timing',
          description: 'spawnpool >= 0.8x raw Node throughput',
          measured: `${ratio(vsRaw.ratio)} [${ratio(vsRaw.ci[0])}, ${ratio(vsRaw.ci[1])}] (${num(rate('spawnpool'))} vs ${num(rate('raw-node'))} agents/s)`,
          met,
          ...(met
            ? {}
            : {
                bound: bound,
              }),
        },
        {
          kind: 'timing',
          description: "spawnpool main-thread CPU per agent <= 50 us (the host's own thread, /proc schedstat)",
          measured: `${num(mainCpu)} us (median over runs; raw Node, which spawns on the main thread, ${num(summaryOf(variants, 'raw-node', MAIN_CPU.key).median)} us)`,
          met: mainMet,
          ...(mainMet
            ? {}
            : {
                bound: `what remains on the main thread is receiving each agent's two events (throttled messages, several events each), building its outcome and result objects, draining its SPAWN and EXIT records from the ring into the windows and exporters: ${num(mainCpu)} us per agent here.`,
              }),
        },
      ];
      return {
        name: 'fanout-2000',
        title: this.title,
        params: { ...launch.params(), agents: agentsCount, concurrency, command: COMMAND, runs, warmup: ctx.warmup },
        metrics: [RATE, WALL, CPU, MAIN_CPU, HELPER_CPU],
        variants,
        comparisons,
        targets,
        facts: [
          { label: 'what bounds spawnpool here (measured)', value: bound },
          { label: `validating ${agentsCount} agent specs (resolveAgents, once, outside the timed runs)`, value: `${num(resolveMs)} ms` },
          ...(hasExeca ? [{ label: 'spawnpool vs execa-64 throughput', value: ratio(rate('spawnpool') / rate('execa-64')) }] : []),
        ],
        notes: [
          full
            ? `Measured rounds: ${runs} of ${agentsCount} agents per variant. The warm-up round launches ${warmCount} agents per variant.`
            : `Quick mode launches ${agentsCount} agents per run, not 2,000 (still ${concurrency} in flight, ${runs} interleaved runs), and leaves out the execa-64 reference: at the rates measured here, 20 rounds of 2,000 would take ${num((20 * 2000 * variants.reduce((sum, v) => sum + 1 / (v.summary[RATE.key]?.median ?? Number.POSITIVE_INFINITY), 0)) / 60)} minutes. \`--full\` launches 2,000 per run. The warm-up round launches ${warmCount} agents per variant.`,
          "CPU per agent is the bench process's own CPU (process.cpuUsage: every thread, not the children); for xargs it is near zero because xargs does the spawning. Helper CPU is that of spawnpool's helper process, if it has one (read from /proc, Linux only).",
          'Every agent must exit 0: a failed spawn fails the run rather than flattering the throughput.',
        ],
        charts: [{ metric: RATE.key, title: 'fanout-2000: throughput (agents/s, higher is better)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
    }
  },
};

/** Starts `n` launches, `concurrency` at a time, each next one as soon as one exits (p-limit, as spawnpool's batches do). */
async function pool(n: number, concurrency: number, launch: () => Promise<void>): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(Array.from({ length: n }, () => limit(launch)));
}

function rawSpawn(): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(COMMAND, [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${COMMAND} exited with ${String(code)}`))));
  });
}

async function execaSpawn(): Promise<void> {
  const result = await execa(COMMAND, [], { detached: true, cleanup: false, buffer: false, reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`${COMMAND} failed: ${result.message}`);
}

async function xargs(n: number, concurrency: number): Promise<void> {
  const child = spawn('xargs', ['-P', String(concurrency), '-n', '1', COMMAND], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin!.end('x\n'.repeat(n));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`xargs exited with ${String(code)}`);
}
