/**
 * fleet-1000: 1,000 fast agent runs (`/bin/true`) through a BullMQ queue on
 * a real redis-server, consumed by 1 and by 2 `spawnpool worker` processes
 * on this machine, beside the same 1,000 agents through one in-process
 * `spawnBatch` at the same concurrency as one worker. What the queue costs
 * per job is the difference, measured in the same rounds (interleaved).
 *
 * On a machine with few cores, two workers cannot be twice as fast: they
 * share the cores with each other, their helper processes, the agents and
 * Redis. The scenario reports what they reach, and where the CPU went.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { enqueueRun, parseTasks, type Task, waitForRun } from '../../src/fleet/index.ts';
import { resolveAgents } from '../../src/index.ts';
import { ensureBuiltDist } from '../../test/support/built-dist.ts';
import { cpuUsOf } from '../../test/support/procfs.ts';
import { type RedisServer, startRedis } from '../../test/support/redis-server.ts';
import { num } from '../lib/format.ts';
import { runInterleaved } from '../lib/interleave.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { benchSpawner } from '../lib/spawner.ts';
import { median } from '../lib/stats.ts';
import type { Fact, MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Agent runs in flight: per worker, and in the in-process batch. */
const CONCURRENCY = 8;
const TARGET_MS_PER_JOB = 2;

const WALL: MetricDef = { key: 'wallMs', label: 'time for all jobs (enqueue to run done)', unit: 'ms', better: 'lower' };
const RATE: MetricDef = { key: 'jobsPerSec', label: 'throughput', unit: 'jobs/s', better: 'higher' };
const ENQUEUE: MetricDef = { key: 'enqueueMs', label: 'enqueue (one FlowProducer run)', unit: 'ms', better: 'lower' };

const VARIANTS: VariantInfo[] = [
  { name: 'in-process', role: 'baseline', description: `spawner.spawnBatch(all agents, { concurrency: ${CONCURRENCY} }) in the bench process: no queue` },
  {
    name: 'fleet-1-worker',
    role: 'candidate',
    description: `enqueueRun() then waitForRun(): one \`spawnpool worker --concurrency ${CONCURRENCY}\` process takes every job from Redis`,
  },
  {
    name: 'fleet-2-workers',
    role: 'candidate',
    description: `the same through two worker processes (${CONCURRENCY} each, so ${2 * CONCURRENCY} in flight) sharing the machine`,
  },
];

interface WorkerProc {
  child: ChildProcess;
  stderr(): string;
}

export const fleet1000: Scenario = {
  name: 'fleet-1000',
  title: 'fleet-1000: 1,000 agent runs through BullMQ on Redis, 1 and 2 local workers, against in-process',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const jobs = ctx.tiny ? 20 : 1000;
    const runs = ctx.runs({ quick: 3, full: 8, tiny: 2 });
    // Both sides fork through the same launcher, so the queue is the only difference.
    const launcher = ctx.launcher ?? 'helper';
    const tasks: Task[] = parseTasks(Array.from({ length: jobs }, (_, i) => JSON.stringify({ id: String(i + 1) })).join('\n'), {
      file: 'fleet-1000',
      format: 'jsonl',
    });
    const agents = { agents: [{ name: 'true', command: '/bin/true' }] };
    const inProcessAgents = resolveAgents(tasks.map((t) => ({ name: `true/${t.id}`, command: '/bin/true' })));

    // The workers run the built CLI, as a user's `npx spawnpool worker` does: from source, tsx cost each one seconds of CPU to start.
    ensureBuiltDist();
    const redis = await startRedis();
    const workers: WorkerProc[] = [];
    const spawner = benchSpawner({ ...ctx, launcher }, { prometheus: false });
    try {
      // Queue "one" has one worker; queue "two" has two.
      workers.push(
        ...(await Promise.all([
          startWorker(redis, 'one', 'w1', launcher),
          startWorker(redis, 'two', 'w2', launcher),
          startWorker(redis, 'two', 'w3', launcher),
        ])),
      );
      await spawner.ready;
      const cpu = { redis: new Map<string, number[]>(), workers: new Map<string, number[]>() };
      const measureCpu = async <T>(variant: string, pids: number[], fn: () => Promise<T>): Promise<T> => {
        const [r0, w0] = [cpuMs(redis.pid), pids.map(cpuMs)];
        const value = await fn();
        const [r1, w1] = [cpuMs(redis.pid), pids.map(cpuMs)];
        push(cpu.redis, variant, (r1 - r0) / jobs);
        push(cpu.workers, variant, (sum(w1) - sum(w0)) / jobs);
        return value;
      };
      const fleetRun =
        (variant: string, queue: string, pids: number[]) =>
        async ({ round }: { round: number }) =>
          measureCpu(variant, pids, async () => {
            const run = `b${round}`;
            const t0 = performance.now();
            const report = await enqueueRun({ redis: redis.url, queue, agents, tasks, run, preflight: false });
            const t1 = performance.now();
            const summary = await waitForRun({ redis: redis.url, queue, run, timeoutMs: 600_000 });
            const wallMs = performance.now() - t0;
            if (report.added !== jobs || summary.succeeded !== jobs)
              throw new Error(
                `${variant} round ${round}: ${report.added} added, ${summary.succeeded}/${summary.total} succeeded (${summary.failures[0]?.reason ?? ''})`,
              );
            return { wallMs, enqueueMs: t1 - t0, jobsPerSec: jobs / (wallMs / 1000) };
          });
      const self = process.pid;
      const samples = await runInterleaved({
        runs,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'fleet-1000',
        variants: [
          {
            name: 'in-process',
            run: () =>
              measureCpu('in-process', [self], async () => {
                const t0 = performance.now();
                const results = await spawner.spawnBatch(inProcessAgents, { concurrency: CONCURRENCY }).results;
                const wallMs = performance.now() - t0;
                const bad = results.find((r) => !r.ok);
                if (bad) throw new Error(`in-process agent ${bad.name} failed: ${bad.error?.message ?? ''}`);
                return { wallMs, jobsPerSec: jobs / (wallMs / 1000) };
              }),
          },
          { name: 'fleet-1-worker', run: fleetRun('fleet-1-worker', 'one', [workers[0]!.child.pid!]) },
          { name: 'fleet-2-workers', run: fleetRun('fleet-2-workers', 'two', [workers[1]!.child.pid!, workers[2]!.child.pid!]) },
        ],
      });
      const variants = variantResults(samples, VARIANTS);
      const comparisons = [
        ...compareAll(variants, WALL, 'fleet-1-worker', ['in-process'], ctx.seed),
        ...compareAll(variants, WALL, 'fleet-2-workers', ['fleet-1-worker'], ctx.seed + 1),
      ];

      // Per job, paired by round (the variants of one round ran back to back): fleet wall minus in-process wall.
      const wall = (name: string) => samples.get(name)![WALL.key]!;
      const paired = (name: string) => wall(name).map((w, i) => (w - wall('in-process')[i]!) / jobs);
      const over1 = paired('fleet-1-worker');
      const over2 = paired('fleet-2-workers');
      const med1 = median(over1);
      const inProc = summaryOf(variants, 'in-process', WALL.key).median;
      const one = summaryOf(variants, 'fleet-1-worker', WALL.key).median;
      const two = summaryOf(variants, 'fleet-2-workers', WALL.key).median;
      const enqueue1 = summaryOf(variants, 'fleet-1-worker', ENQUEUE.key).median;
      const cpuMed = (m: Map<string, number[]>, v: string) => median(m.get(v)!.slice(ctx.warmup));
      const facts: Fact[] = [
        {
          label: 'queue overhead per job, 1 worker (fleet wall - in-process wall, per job, paired by round)',
          value: `median ${num(med1)} ms (runs: ${over1.map(num).join(', ')})`,
        },
        { label: 'queue overhead per job, 2 workers (same)', value: `median ${num(median(over2))} ms (runs: ${over2.map(num).join(', ')})` },
        {
          label: 'enqueue of the whole run (part of the wall time above)',
          value: `${num(enqueue1)} ms, ${num(enqueue1 / jobs)} ms per job (1-worker queue, median)`,
        },
        {
          label: 'redis-server CPU per job',
          value: `1 worker ${num(cpuMed(cpu.redis, 'fleet-1-worker'))} ms, 2 workers ${num(cpuMed(cpu.redis, 'fleet-2-workers'))} ms`,
        },
        {
          label: 'worker process CPU per job (main process; its helper and the agents not counted)',
          value: `1 worker ${num(cpuMed(cpu.workers, 'fleet-1-worker'))} ms, 2 workers ${num(cpuMed(cpu.workers, 'fleet-2-workers'))} ms (both together); in-process: the bench process ${num(cpuMed(cpu.workers, 'in-process'))} ms`,
        },
        {
          label:
            'queue CPU per job, 1 worker (redis-server CPU + worker CPU - in-process host CPU, per job; less sensitive to a loaded machine than wall time)',
          value: `${num(cpuMed(cpu.redis, 'fleet-1-worker') + cpuMed(cpu.workers, 'fleet-1-worker') - cpuMed(cpu.workers, 'in-process'))} ms`,
        },
        { label: 'speed-up of 2 workers over 1', value: `${num(one / two)}x on ${ctx.tiny ? 'tiny sizes' : `${jobs} jobs`}` },
      ];
      const met = med1 <= TARGET_MS_PER_JOB;
      const targets: Target[] = [
        {
          kind: 'timing',
          description: `queue overhead per job with 1 worker <= ${TARGET_MS_PER_JOB} ms over in-process`,
          measured: `${num(med1)} ms per job (median of ${over1.length} paired rounds; in-process ${num(inProc)} ms, 1 worker ${num(one)} ms for ${jobs} jobs)`,
          met,
          ...(met
            ? {}
            : {
                bound: `per job, the queue adds Redis round trips (move to active, move to completed and fetch the next, lock renewals) and their Lua scripts on redis-server: ${num(cpuMed(cpu.redis, 'fleet-1-worker'))} ms of redis-server CPU per job, and the worker's own BullMQ and job handling: ${num(cpuMed(cpu.workers, 'fleet-1-worker'))} ms of worker CPU per job against ${num(cpuMed(cpu.workers, 'in-process'))} ms in-process, all on the same cores as the agents and the helper`,
              }),
        },
      ];
      return {
        name: 'fleet-1000',
        title: this.title,
        params: {
          jobs,
          agent: '/bin/true',
          concurrencyPerWorker: CONCURRENCY,
          launcher,
          runs,
          warmup: ctx.warmup,
          redis: redisVersion(),
          workers: 'spawnpool worker, built (node dist/src/cli/main.js, as npx spawnpool runs it), --no-db, default stall settings',
        },
        metrics: [WALL, RATE, ENQUEUE],
        variants,
        comparisons,
        targets,
        facts,
        notes: [
          'The fleet wall time runs from enqueueRun() (validation, the FlowProducer add of the parent and every child) to waitForRun() resolving on the parent job completion event; the in-process wall time from spawnBatch() to every agent exited.',
          `The 2-worker variant has ${2 * CONCURRENCY} agent runs in flight against ${CONCURRENCY} for the others: on a machine with ${machineCores()} cores the workers, their helpers, the agents and Redis all share them, so it cannot be twice as fast; its figure is what a second worker buys here, not what a second host would.`,
          'CPU figures are utime + stime from /proc over each measured round, divided by the jobs.',
        ],
        charts: [{ metric: RATE.key, title: 'fleet-1000: jobs per second' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
      await Promise.all(workers.map(stopWorker));
      await redis.stop();
    }
  },
};

async function startWorker(redis: RedisServer, queue: string, host: string, launcher: string): Promise<WorkerProc> {
  const child = spawn(
    process.execPath,
    [
      `${ROOT}dist/src/cli/main.js`,
      'worker',
      '--redis',
      redis.url,
      '--queue',
      queue,
      '--host',
      host,
      '--concurrency',
      String(CONCURRENCY),
      '--launcher',
      launcher,
      '--no-db',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (stderr.includes('taking agent runs')) resolve();
    });
    void exited.then(() => reject(new Error(`worker ${host} exited before taking jobs: ${stderr}`)));
  });
  return { child, stderr: () => stderr };
}

async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = once(w.child, 'exit');
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a live process, ms. */
function cpuMs(pid: number): number {
  return cpuUsOf(pid) / 1000;
}

function redisVersion(): string {
  try {
    return (
      execFileSync(process.env.REDIS_SERVER ?? 'redis-server', ['--version'], { encoding: 'utf8' })
        .trim()
        .split(' ')
        .find((w) => w.startsWith('v='))
        ?.slice(2) ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
}

function machineCores(): number {
  return os.availableParallelism();
}

function push(m: Map<string, number[]>, k: string, v: number): void {
  const list = m.get(k) ?? [];
  list.push(v);
  m.set(k, list);
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
