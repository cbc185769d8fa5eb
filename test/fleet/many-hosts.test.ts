/**
 * Many hosts, played by two real `spawnpool worker` processes on this
 * machine against a real redis-server, one queue: every job done exactly
 * once, spread over the workers, each with its own metrics and history; one
 * rate limit shared by both; one worker killed by SIGKILL mid-run (its jobs
 * come back after the stall interval and complete once, its agent trees are
 * gone); SIGTERM of the other (running agents finish, no new job, exit 0).
 * The tests run in order on the same two workers.
 *
 * Agents are a small sh script writing marker files with their own clock
 * (fixtures/mark-agent.sh); each worker's host name reaches its agents
 * through the environment (FLEET_TEST_HOST), so a marker says where it ran.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentRunResult, type RunSummary, waitForRun } from '../../src/fleet/index.ts';
import { cli } from '../cli/run-cli.ts';
import { settleLeftovers } from '../reliability/helpers.ts';
import { descendantsOf } from '../support/procfs.ts';
import { type RedisServer, startRedis } from '../support/redis-server.ts';
import { killWorkers, readMarkers, startWorker, tally, taskIds, until, type WorkerProcess, type Workspace, workspace } from './fleet-support.ts';

const QUEUE = 'fleet';
let redis: RedisServer;
let w1: WorkerProcess;
let w2: WorkerProcess;
let db: string;
const spaces: Workspace[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const home = await space(0);
  db = path.join(home.dir, 'w1-history.db');
  // Short stall settings (the defaults are 30 s each) so a dead worker's jobs come back within seconds.
  const common = ['--redis', redis.url, '--queue', QUEUE, '--concurrency', '4', '--stalled-interval', '1s', '--lock-duration', '5s', '--launcher', 'helper'];
  [w1, w2] = await Promise.all([startWorker('w1', [...common, '--serve-metrics', '0', '--db', db]), startWorker('w2', [...common, '--no-db'])]);
}, 120_000);

afterAll(async () => {
  await killWorkers();
  await redis?.stop();
  await Promise.all(spaces.map((s) => s.remove()));
});

async function space(tasks: number, sleep = 0): Promise<Workspace> {
  const s = await workspace(tasks, sleep);
  spaces.push(s);
  return s;
}

const where = () => ['--redis', redis.url, '--queue', QUEUE];

/** `spawnpool enqueue ... --json`, the run named `run`; with `wait`, resolves with the run's summary once it is done. */
async function enqueue(ws: Workspace, run: string, extra: string[] = [], wait = false): Promise<RunSummary | undefined> {
  const r = await cli([
    'enqueue',
    ...where(),
    ws.agentsFile,
    '--tasks',
    ws.tasksFile,
    '--run-name',
    run,
    '--json',
    ...(wait ? ['--wait', '--timeout', '120s'] : []),
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return wait ? (JSON.parse(r.stdout) as { summary: RunSummary }).summary : undefined;
}

async function withQueue<T>(fn: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(QUEUE, { connection: { url: redis.url } });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** The completed jobs of run `run`. */
async function completed(run: string): Promise<{ id: string; processedBy: string | undefined; result: AgentRunResult }[]> {
  return withQueue(async (q) =>
    (await q.getJobs(['completed'], 0, -1))
      .filter((j) => String(j.id).startsWith(`${run}/`))
      .map((j) => ({ id: String(j.id), processedBy: j.processedBy, result: j.returnvalue as AgentRunResult })),
  );
}

const perHost = new Map<string, number>();

describe('two workers on one queue (real Redis, real worker processes)', () => {
  it('runs 200 jobs exactly once each, spread over both workers; each host keeps its own metrics endpoint', async () => {
    const ws = await space(200);
    const summary = await enqueue(ws, 'r200', [], true);
    expect(summary).toMatchObject({ run: 'r200', total: 200, succeeded: 200, failed: 0, failures: [] });

    // Job ids: each of the 200 completed once, none failed, nothing left.
    const done = await completed('r200');
    const ids = done.map((d) => d.id);
    expect(new Set(ids).size).toBe(200);
    expect(ids.sort()).toEqual(
      taskIds(200)
        .map((t) => `r200/mark/${t}`)
        .sort(),
    );
    expect(await withQueue((q) => q.getJobCounts('waiting', 'active', 'failed', 'delayed'))).toMatchObject({ waiting: 0, active: 0, failed: 0, delayed: 0 });

    // Agent start markers: one per task, none twice; each where BullMQ says its job ran.
    const starts = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start');
    expect(starts).toHaveLength(200);
    expect([...tally(starts.map((m) => m.task)).values()].every((n) => n === 1)).toBe(true);
    const hostOfTask = new Map(starts.map((m) => [m.task, m.host]));
    for (const d of done) {
      expect(d.result).toMatchObject({ ok: true, exitCode: 0, host: d.processedBy, run: 'r200', agent: 'mark', attempt: 1 });
      expect(hostOfTask.get(d.result.taskId!)).toBe(d.processedBy);
    }
    for (const [host, n] of tally(done.map((d) => d.processedBy!))) perHost.set(host, n);
    // Both hosts took a real share (each at least 10%: one starved worker fails this).
    expect(perHost.get('w1')).toBeGreaterThanOrEqual(20);
    expect(perHost.get('w2')).toBeGreaterThanOrEqual(20);
    console.log(`200 jobs: w1 ran ${perHost.get('w1')}, w2 ran ${perHost.get('w2')}`);

    // status: the same counts, per host.
    const status = await cli(['status', ...where(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as {
      completed: number;
      remaining: number;
      hosts: { host: string; completed: number; workers: number }[];
      runs: { run: string; state: string; succeeded: number }[];
    };
    expect(s.completed).toBe(200);
    expect(s.remaining).toBe(0);
    expect(s.hosts.map((h) => [h.host, h.completed, h.workers])).toEqual([
      ['w1', perHost.get('w1'), 1],
      ['w2', perHost.get('w2'), 1],
    ]);
    expect(s.runs).toEqual([expect.objectContaining({ run: 'r200', state: 'completed', succeeded: 200 })]);

    // w1's own Prometheus endpoint counts w1's spawns, and only those.
    const url = /serving metrics on (\S+)/.exec(w1.stderr())?.[1];
    expect(url, w1.stderr()).toBeDefined();
    const text = await (await fetch(url!)).text();
    const spawnedOk = (labels: string) => labels.includes('outcome="ok"') && (!labels.includes('stage=') || labels.includes('stage="spawn"'));
    const spawned = [...text.matchAll(/^spawnpool_spawns_total\{([^}]*)\} (\d+)$/gm)].filter((m) => spawnedOk(m[1]!)).reduce((sum, m) => sum + Number(m[2]), 0);
    expect(spawned).toBe(perHost.get('w1'));
  }, 120_000);

  it('holds one rate limit across both workers (starts per interval, from the agents own clocks)', async () => {
    const ws = await space(16);
    // 4 starts per second across the queue: without a shared limit, 2 workers x 4 in flight would run 16 fast agents in well under a second.
    const summary = await enqueue(ws, 'rrate', ['--rate-limit', '4/1s'], true);
    expect(summary).toMatchObject({ total: 16, succeeded: 16 });
    const starts = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start').map((m) => ({ at: m.atMs!, host: m.host }));
    expect(starts).toHaveLength(16);
    const t = starts.map((s) => s.at).sort((x, y) => x - y);
    // BullMQ's limiter counts fixed windows of 1 s, each opened by its first start: 16 starts need 4 windows,
    // so the first and last start are at least 3 s apart (a per-worker limit would allow 8 per second: ~1 s).
    const span = t.at(-1)! - t[0]!;
    expect(span).toBeGreaterThanOrEqual(3000 - 300);
    // In any 700 ms (1 s less 300 ms for the spread between a job taken and its agent starting) at most two windows meet: <= 8 starts.
    const busiest = Math.max(...t.map((x) => t.filter((y) => y >= x && y < x + 700).length));
    expect(busiest).toBeLessThanOrEqual(8);
    const hosts = tally(starts.map((s) => s.host));
    expect(hosts.get('w1')).toBeGreaterThan(0);
    expect(hosts.get('w2')).toBeGreaterThan(0);
    console.log(
      `rate limit 4/1s: 16 starts over ${(span / 1000).toFixed(2)} s, at most ${busiest} in any 700 ms; w1 ${hosts.get('w1')}, w2 ${hosts.get('w2')}`,
    );
    await withQueue((q) => q.removeGlobalRateLimit());
  }, 60_000);

  it('SIGKILL of a worker mid-run: the other takes its jobs after the stall interval, its agent trees are gone, every job completes once', async () => {
    const ws = await space(60, 0.3);
    await enqueue(ws, 'rkill');
    // Let w1 finish some jobs, then freeze its agents: every one of its 4 slots ends up holding a hung
    // agent tree, so at the kill it has exactly 4 jobs in flight and every earlier job of it is complete.
    await until('w1 finished 5 jobs', async () => (await readMarkers(ws.markers)).filter((m) => m.kind === 'done' && m.host === 'w1').length >= 5);
    await writeFile(path.join(ws.markers, 'freeze.w1'), '');
    const frozen = await until('w1 has 4 hung agents', async () => {
      const f = (await readMarkers(ws.markers)).filter((m) => m.kind === 'frozen');
      return f.length >= 4 ? f : undefined;
    });
    expect(frozen).toHaveLength(4);
    expect(new Set(frozen.map((f) => f.host))).toEqual(new Set(['w1']));
    const tree = descendantsOf(w1.pid);
    // The helper process, and each hung agent with its child sleep.
    expect(tree.length).toBeGreaterThanOrEqual(1 + 4 * 2);
    w1.child.kill('SIGKILL');
    expect(await w1.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const summary = await waitForRun({ redis: redis.url, queue: QUEUE, run: 'rkill', timeoutMs: 60_000 });
    expect(summary).toMatchObject({ total: 60, succeeded: 60, failed: 0 });
    // Every process w1 had is gone: its helper, the hung agents and their children.
    expect(await settleLeftovers({ pids: tree, pgids: frozen.map((f) => f.pid) })).toEqual([]);

    const done = await completed('rkill');
    const markers = await readMarkers(ws.markers);
    const starts = markers.filter((m) => m.kind === 'start');
    const dones = markers.filter((m) => m.kind === 'done');
    const frozenTasks = frozen.map((f) => f.task).sort();
    // Each job id completed once; each task's agent ran to its end exactly once.
    expect(new Set(done.map((d) => d.id)).size).toBe(60);
    expect(dones).toHaveLength(60);
    expect(new Set(dones.map((m) => m.task)).size).toBe(60);
    // The 4 jobs of the dead host were started twice: there, and again on w2, where they completed.
    expect(starts).toHaveLength(64);
    expect(
      [...tally(starts.map((m) => m.task))]
        .filter(([, n]) => n === 2)
        .map(([t]) => t)
        .sort(),
    ).toEqual(frozenTasks);
    for (const task of frozenTasks) expect(done.find((d) => d.result.taskId === task)?.processedBy).toBe('w2');
    expect(await withQueue((q) => q.getJobCounts('failed', 'waiting', 'active'))).toMatchObject({ failed: 0, waiting: 0, active: 0 });
    const byHost = tally(done.map((d) => d.processedBy));
    console.log(
      `kill a worker: 60 jobs, 60 completed once (w1 ${byHost.get('w1')} before its SIGKILL, w2 ${byHost.get('w2')}), 0 failed; ${starts.length} agent starts (4 hung on w1: ${frozenTasks.join(', ')}, run again on w2); ${dones.length} done markers; ${tree.length} processes of w1 gone`,
    );
    // w1 kept its own history of what it ran, up to its death: the 200-job run's share at least.
    const stats = await cli(['stats', '--db', db, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { batches: number }).batches).toBeGreaterThanOrEqual(perHost.get('w1')!);
  }, 120_000);

  it('SIGTERM: running agents finish, no new job is taken, the worker exits 0', async () => {
    const ws = await space(6, 1.5);
    await enqueue(ws, 'rterm');
    const started = await until('4 agents started', async () => {
      const s = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start');
      return s.length >= 4 ? s : undefined;
    });
    w2.child.kill('SIGTERM');
    expect(await w2.exited).toEqual({ code: 0, signal: null });
    expect(w2.stderr()).toMatch(/SIGTERM: taking no more jobs; 4 agent runs in flight/);
    const markers = await readMarkers(ws.markers);
    expect(
      markers
        .filter((m) => m.kind === 'start')
        .map((m) => m.task)
        .sort(),
    ).toEqual(started.map((m) => m.task).sort());
    expect(
      markers
        .filter((m) => m.kind === 'done')
        .map((m) => m.task)
        .sort(),
    ).toEqual(started.map((m) => m.task).sort());
    expect((await completed('rterm')).map((d) => d.result.taskId).sort()).toEqual(started.map((m) => m.task).sort());
    expect(await withQueue((q) => q.getJobCounts('waiting', 'active', 'failed', 'delayed'))).toMatchObject({ waiting: 2, active: 0, failed: 0, delayed: 0 });
  }, 60_000);
});
