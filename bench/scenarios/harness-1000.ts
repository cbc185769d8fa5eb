/**
 * harness-1000: 1,000 tasks x 1 fast agent (`/bin/true <task id>`), 64 in
 * flight, through the harness (`runHarness`, one batch per attempt, every
 * attempt recorded in a history database under a run name, as `--run-name`
 * does) beside GNU parallel (`parallel -j64 --joblog FILE /bin/true {}`) on
 * the same commands, interleaved. The bookkeeping is on for both: the
 * joblog for parallel, the history for spawnpool.
 *
 * A reference, not a comparison: the same 1,000 agents as one
 * `spawnBatch` (what the batch layer reaches when nothing is scheduled
 * above it).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { harnessRuns, parseTasks, runHarness } from '../../src/index.ts';
import { childrenCpuUs, cpuUsOf, machineBusyUs } from '../../test/support/procfs.ts';
import { num, ratio } from '../lib/format.ts';
import { runInterleaved, type RunInfo, type RunSample } from '../lib/interleave.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import type { Fact, MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const COMMAND = '/bin/true';
const TARGET_RATIO = 1.2;

const RATE: MetricDef = { key: 'runsPerSec', label: 'throughput', unit: 'runs/s', better: 'higher' };
const WALL: MetricDef = { key: 'wallMs', label: 'time for all runs', unit: 'ms', better: 'lower' };
const MACHINE_CPU: MetricDef = { key: 'machineCpuUsPerRun', label: 'host CPU per run (every process on the machine, /proc/stat)', unit: 'us', better: 'lower' };
const OWN_CPU: MetricDef = {
  key: 'ownCpuUsPerRun',
  label: 'orchestrator CPU per run (spawnpool: bench process + helper; parallel: perl, from its /proc stat)',
  unit: 'us',
  better: 'lower',
};

const VARIANTS: VariantInfo[] = [
  {
    name: 'spawnpool-harness',
    role: 'candidate',
    description:
      'runHarness(spawner, 1,000 runs, { concurrency: 64, runName }) with a history database: one batch per run, each attempt recorded (batches, agent_runs, harness_attempts rows)',
  },
  {
    name: 'gnu-parallel',
    role: 'baseline',
    description:
      'parallel -j64 --joblog FILE /bin/true {} with the 1,000 task ids on stdin (GNU parallel 20221122, the Debian package); timed from spawning parallel to its exit',
  },
  {
    name: 'spawnpool-batch',
    role: 'reference',
    description: 'spawner.spawnBatch(the same 1,000 agents, { concurrency: 64 }): one batch, no scheduling above it; its history row too',
  },
];

export const harness1000: Scenario = {
  name: 'harness-1000',
  title: 'harness-1000: 1,000 tasks x /bin/true at 64 in flight, spawnpool harness vs GNU parallel -j64 --joblog',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const n = ctx.tiny ? 16 : 1000;
    const concurrency = ctx.tiny ? 4 : 64;
    const runs = ctx.runs({ quick: 5, full: 12, tiny: 2 });
    const warmCount = ctx.tiny ? n : 200;
    const tasks = parseTasks(Array.from({ length: n }, (_, i) => `{"id":${i + 1}}`).join('\n'), { file: 'harness-1000', format: 'jsonl' });
    const all = harnessRuns({ agents: [{ name: 'true', command: COMMAND, args: ['{{task.id}}'] }] }, tasks);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-harness-bench-'));
    const db = path.join(dir, 'history.db');
    // As the CLI: no Prometheus registry unless metrics are served.
    const spawner = benchSpawner(ctx, { prometheus: false, history: { path: db } });
    let round = 0;
    let parallelVersion = 'unknown';
    try {
      parallelVersion = (await output('parallel', ['--version'])).split('\n')[0] ?? 'unknown';
      await spawner.ready;
      const launch = launchProbe(ctx);
      const timed =
        (work: (count: number) => Promise<number | undefined>) =>
        async (info: RunInfo): Promise<RunSample> => {
          const count = info.warmup ? warmCount : n;
          const machine0 = machineBusyUs();
          const cpu0 = process.cpuUsage();
          const helpers0 = childrenCpuUs();
          const t0 = performance.now();
          const external = await work(count);
          const wallMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          const own = external ?? cpu.user + cpu.system + Math.max(0, childrenCpuUs() - helpers0);
          return { wallMs, runsPerSec: (count / wallMs) * 1000, machineCpuUsPerRun: (machineBusyUs() - machine0) / count, ownCpuUsPerRun: own / count };
        };
      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'harness',
        variants: [
          {
            name: 'spawnpool-harness',
            run: timed(async (count) => {
              const harness = await runHarness(spawner, count === n ? all : all.slice(0, count), { concurrency, runName: `bench-${++round}` });
              for await (const a of harness) if (!a.ok) throw new Error(`harness run ${a.run} failed at ${a.stage}: ${a.error?.message ?? ''}`);
              const summary = await harness.summary;
              if (summary.succeeded !== count || summary.attempts !== count)
                throw new Error(`harness: ${summary.succeeded} of ${count} runs succeeded in ${summary.attempts} attempts`);
              return undefined;
            }),
          },
          { name: 'gnu-parallel', run: timed((count) => gnuParallel(count, concurrency, path.join(dir, `joblog-${++round}`))) },
          {
            name: 'spawnpool-batch',
            run: timed(async (count) => {
              const results = await spawner.spawnBatch(
                (count === n ? all : all.slice(0, count)).map((r) => r.spec),
                { concurrency },
              ).results;
              const bad = results.find((r) => !r.ok);
              if (bad) throw new Error(`batch agent ${bad.name} failed at ${bad.stage}: ${bad.error?.message ?? ''}`);
              return undefined;
            }),
          },
        ],
      });
      spawner.history!.flush();

      const variants = variantResults(samples, VARIANTS);
      const comparisons = compareAll(variants, RATE, 'spawnpool-harness', ['gnu-parallel'], ctx.seed);
      const vs = comparisons[0]!;
      const med = (v: string, m: MetricDef) => summaryOf(variants, v, m.key).median;
      const met = vs.ratio >= TARGET_RATIO;
      const cores = os.availableParallelism();
      const bound =
        `on ${cores} cores the machine spends ${num(med('spawnpool-harness', MACHINE_CPU))} us of CPU per run under the harness (${num(med('spawnpool-harness', OWN_CPU))} us of it in the bench process and its helper) ` +
        `against ${num(med('gnu-parallel', MACHINE_CPU))} us under GNU parallel (${num(med('gnu-parallel', OWN_CPU))} us in perl): CPU-bound ceilings of ${num((cores * 1e6) / med('spawnpool-harness', MACHINE_CPU))} and ${num((cores * 1e6) / med('gnu-parallel', MACHINE_CPU))} runs/s. ` +
        `With one batch per run the harness reaches ${ratio(med('spawnpool-harness', RATE) / med('spawnpool-batch', RATE))} the throughput of one batch of all the runs (${num(med('spawnpool-batch', RATE))} runs/s).`;
      const targets: Target[] = [
        {
          kind: 'timing',
          description: `spawnpool harness >= ${TARGET_RATIO}x GNU parallel's throughput (both with their bookkeeping: history, joblog)`,
          measured: `${ratio(vs.ratio)} [${ratio(vs.ci[0])}, ${ratio(vs.ci[1])}] (${num(med('spawnpool-harness', RATE))} vs ${num(med('gnu-parallel', RATE))} runs/s)`,
          met,
          ...(met ? {} : { bound }),
        },
        {
          kind: 'correctness',
          description: 'every run of every variant exited 0 (harness: one attempt each; parallel: its joblog has one exit-0 line per run)',
          measured: 'checked in every run (a failure fails the scenario)',
          met: true,
        },
      ];
      const facts: Fact[] = [
        { label: 'what bounds the harness here (measured)', value: bound },
        { label: 'GNU parallel', value: parallelVersion },
        { label: 'harness vs one batch (throughput)', value: ratio(med('spawnpool-harness', RATE) / med('spawnpool-batch', RATE)) },
      ];
      return {
        name: 'harness-1000',
        title: this.title,
        params: { ...launch.params(), runs: n, concurrency, command: `${COMMAND} <task id>`, measuredRounds: runs, warmup: ctx.warmup, warmupRuns: warmCount },
        metrics: [RATE, WALL, MACHINE_CPU, OWN_CPU],
        variants,
        comparisons,
        targets,
        facts,
        notes: [
          `Variants interleaved, ${runs} measured rounds of ${n} runs each; warm-up rounds run ${warmCount} and are discarded.`,
          "Host CPU per run is the whole machine's busy time (user, nice, system, irq, softirq, steal from /proc/stat) over the round, divided by the runs: it includes the agents themselves and anything else the machine ran meanwhile, alike for every variant of the round.",
          "The harness's spawner has no Prometheus registry (as the CLI without --serve-metrics) and records into a history database; each round is a new run name.",
        ],
        charts: [{ metric: RATE.key, title: 'harness-1000: throughput (runs/s, higher is better)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** GNU parallel over `count` task ids; returns its own CPU (perl, without the jobs), read from /proc just before it exits. */
async function gnuParallel(count: number, concurrency: number, joblog: string): Promise<number> {
  const child = spawn('parallel', ['-j', String(concurrency), '--joblog', joblog, COMMAND, '{}'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // utime + stime of parallel itself, sampled until it is gone: the last reading is within a few ms of its end.
  let own = 0;
  const sampler = setInterval(() => {
    const us = cpuUsOf(child.pid!);
    if (!Number.isNaN(us)) own = us;
  }, 5);
  child.stdin!.end(Array.from({ length: count }, (_, i) => `${i + 1}\n`).join(''));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(sampler);
  if (code !== 0) throw new Error(`parallel exited with ${String(code)}: ${stderr}`);
  const lines = (await readFile(joblog, 'utf8')).trim().split('\n').slice(1);
  const ok = lines.filter((l) => l.split('\t')[6] === '0').length;
  if (lines.length !== count || ok !== count) throw new Error(`parallel's joblog has ${lines.length} runs, ${ok} with exit 0, expected ${count}`);
  return own;
}

async function output(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'exit');
  return out;
}
