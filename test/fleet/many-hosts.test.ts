/**
 * Many hosts, played by real `spawnpool worker` processes on this machine
 * against a real redis-server: every job done exactly once, spread over the
 * workers; a worker killed by SIGKILL mid-run (its jobs come back after the
 * stall interval and complete once, its agent trees are gone); one rate limit
 * shared by every worker; SIGTERM lets running agents finish and takes no new
 * job, or stops them at the deadline and puts their jobs back.
 *
 * Agents are a small sh script writing marker files with their own clock
 * (fixtures/mark-agent.sh); each worker's host name reaches its agents
 * through the environment (FLEET_TEST_HOST), so a marker says where it ran.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentRunResult, type RunSummary, waitForRun } from '../../src/fleet/index.ts';
import { cli } from '../cli/run-cli.ts';
import { settleLeftovers } from '../reliability/helpers.ts';
import { type RedisServer, startRedis } from '../support/redis-server.ts';
import { descendants, killWorkers, readMarkers, startWorker, tally, taskIds, until, type Workspace, workspace } from './fleet-support.ts';

let redis: RedisServer;
const spaces: Workspace[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  await killWorkers();
});

afterAll(async () => {
  await killWorkers();
  await redis?.stop();
  await Promise.all(spaces.map((s) => s.remove()));
});

async function space(tasks: number): Promise<Workspace> {
  const s = await workspace(tasks);
  spaces.push(s);
  return s;
}

const queueArgs = (queue: string) => ['--redis', redis.url, '--queue', queue];

/** `spawnpool enqueue ... --wait --json`: resolves with the run's summary. */
async function enqueueAndWait(queue: string, ws: Workspace, extra: string[] = []): Promise<RunSummary> {
  const r = await cli(['enqueue', ...queueArgs(queue), ws.agentsFile, '--tasks', ws.tasksFile, '--run-name', 'r1', '--wait', '--timeout', '120s', '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { summary: RunSummary }).summary;
}

async function enqueue(queue: string, ws: Workspace, extra: string[] = []): Promise<void> {
  const r = await cli(['enqueue', ...queueArgs(queue), ws.agentsFile, '--tasks', ws.tasksFile, '--run-name', 'r1', ...extra]);
  expect(r.code, r.stderr).toBe(0);
}

async function withQueue<T>(name: string, fn: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(name, { connection: { url: redis.url } });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

async function completedResults(queue: string): Promise<{ id: string; processedBy: string | undefined; result: AgentRunResult }[]> {
  return withQueue(queue, async (q) => (await q.getJobs(['completed'], 0, -1)).map((j) => ({ id: String(j.id), processedBy: j.processedBy, result: j.returnvalue as AgentRunResult })));
}

describe('many hosts on one queue (real Redis, real worker processes)', () => {
  it('runs 200 jobs exactly once each, spread over both workers; each host keeps its own metrics endpoint and history', async () => {
    const ws = await space(200);
    const db = path.join(ws.dir, 'w1-history.db');
    const [w1, w2] = await Promise.all([
      startWorker('w1', [...queueArgs('q200'), '--concurrency', '8', '--serve-metrics', '0', '--db', db]),
      startWorker('w2', [...queueArgs('q200'), '--concurrency', '8', '--no-db']),
    ]);
    const summary = await enqueueAndWait('q200', ws);
    expect(summary).toMatchObject({ run: 'r1', total: 200, succeeded: 200, failed: 0, failures: [] });

    // Job ids: each of the 200 completed once, none failed, nothing left.
    const done = await completedResults('q200');
    const ids = done.map((d) => d.id);
    expect(new Set(ids).size).toBe(200);
    expect(ids.sort()).toEqual(taskIds(200).map((t) => `r1/mark/${t}`).sort());
    const counts = await withQueue('q200', (q) => q.getJobCounts('waiting', 'active', 'failed', 'delayed'));
    expect(counts).toMatchObject({ waiting: 0, active: 0, failed: 0, delayed: 0 });

    // Agent start markers: one per task, none twice; each where BullMQ says its job ran.
    const starts = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start');
    expect(starts).toHaveLength(200);
    expect([...tally(starts.map((m) => m.task)).values()].every((n) => n === 1)).toBe(true);
    const hostOfTask = new Map(starts.map((m) => [m.task, m.host]));
    for (const d of done) {
      expect(d.result).toMatchObject({ ok: true, exitCode: 0, host: d.processedBy, run: 'r1', agent: 'mark', attempt: 1 });
      expect(hostOfTask.get(d.result.taskId!)).toBe(d.processedBy);
    }
    const perHost = tally(done.map((d) => d.processedBy));
    // Both hosts took a real share (each at least 10%: one starved worker fails this).
    expect(perHost.get('w1')).toBeGreaterThanOrEqual(20);
    expect(perHost.get('w2')).toBeGreaterThanOrEqual(20);
    console.log(`200 jobs: w1 ran ${perHost.get('w1')}, w2 ran ${perHost.get('w2')}`);

    // status: the same counts, per host.
    const status = await cli(['status', ...queueArgs('q200'), '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { completed: number; remaining: number; hosts: { host: string; completed: number; workers: number }[]; runs: { run: string; state: string; succeeded: number }[] };
    expect(s.completed).toBe(200);
    expect(s.remaining).toBe(0);
    expect(s.hosts.map((h) => [h.host, h.completed, h.workers])).toEqual([
      ['w1', perHost.get('w1'), 1],
      ['w2', perHost.get('w2'), 1],
    ]);
    expect(s.runs).toEqual([expect.objectContaining({ run: 'r1', state: 'completed', succeeded: 200 })]);

    // w1's own Prometheus endpoint counts w1's spawns, and only those.
    const url = /serving metrics on (\S+)/.exec(w1.stderr())?.[1];
    expect(url, w1.stderr()).toBeDefined();
    const text = await (await fetch(url!)).text();
    const spawnedOk = (labels: string) => labels.includes('outcome="ok"') && (!labels.includes('stage=') || labels.includes('stage="spawn"'));
    const spawned = [...text.matchAll(/^spawnpool_spawns_total\{([^}]*)\} (\d+)$/gm)].filter((m) => spawnedOk(m[1]!)).reduce((sum, m) => sum + Number(m[2]), 0);
    expect(spawned).toBe(perHost.get('w1'));

    w1.child.kill('SIGTERM');
    w2.child.kill('SIGTERM');
    expect((await w1.exited).code, w1.stderr()).toBe(0);
    expect((await w2.exited).code, w2.stderr()).toBe(0);
    // w1's own history: one batch per job it ran.
    const stats = await cli(['stats', '--db', db, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { batches: number }).batches).toBe(perHost.get('w1'));
  }, 120_000);

  it('SIGKILL of a worker mid-run: the other takes its jobs after the stall interval, its agent trees are gone, every job completes once', async () => {
    const ws = await space(60);
    const fast = ['--concurrency', '3', '--stalled-interval', '500ms', '--lock-duration', '2s', '--launcher', 'helper', '--no-db'];
    const [victim, survivor] = await Promise.all([startWorker('w1', [...queueArgs('qkill'), ...fast], { AGENT_SLEEP: '0.3' }), startWorker('w2', [...queueArgs('qkill'), ...fast], { AGENT_SLEEP: '0.3' })]);
    await enqueue('qkill', ws);
    // Let the victim finish some jobs, then freeze its agents: every one of its slots ends up holding a
    // hung agent tree, so at the kill it has exactly 3 jobs in flight and every earlier job of it is complete.
    await until('w1 finished 5 jobs', async () => (await readMarkers(ws.markers)).filter((m) => m.kind === 'done' && m.host === 'w1').length >= 5);
    await writeFile(path.join(ws.markers, 'freeze.w1'), '');
    const frozen = await until('w1 has 3 hung agents', async () => {
      const f = (await readMarkers(ws.markers)).filter((m) => m.kind === 'frozen');
      return f.length >= 3 ? f : undefined;
    });
    expect(frozen).toHaveLength(3);
    const tree = await descendants(victim.pid);
    // The helper process, and each hung agent with its child sleep.
    expect(tree.length).toBeGreaterThanOrEqual(1 + 3 * 2);
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const summary = await waitForRun({ redis: redis.url, queue: 'qkill', run: 'r1', timeoutMs: 60_000 });
    expect(summary).toMatchObject({ total: 60, succeeded: 60, failed: 0 });

    // Every process the victim had is gone: its helper, the hung agents and their children.
    expect(await settleLeftovers({ pids: tree, pgids: frozen.map((f) => f.pid) })).toEqual([]);

    const done = await completedResults('qkill');
    const markers = await readMarkers(ws.markers);
    const starts = markers.filter((m) => m.kind === 'start');
    const dones = markers.filter((m) => m.kind === 'done');
    const frozenTasks = frozen.map((f) => f.task).sort();
    // Each job id completed once; each task's agent ran to its end exactly once.
    expect(new Set(done.map((d) => d.id)).size).toBe(60);
    expect(dones).toHaveLength(60);
    expect(new Set(dones.map((m) => m.task)).size).toBe(60);
    // The 3 jobs of the dead host were started twice: there, and again on the survivor, where they completed.
    expect(starts).toHaveLength(63);
    expect([...tally(starts.map((m) => m.task))].filter(([, n]) => n === 2).map(([t]) => t).sort()).toEqual(frozenTasks);
    for (const task of frozenTasks) expect(done.find((d) => d.result.taskId === task)?.processedBy).toBe('w2');
    expect(await withQueue('qkill', (q) => q.getJobCounts('failed', 'waiting', 'active'))).toMatchObject({ failed: 0, waiting: 0, active: 0 });
    const byHost = tally(done.map((d) => d.processedBy));
    console.log(`kill a worker: 60 jobs, 60 completed once (w1 ${byHost.get('w1')} before its SIGKILL, w2 ${byHost.get('w2')}), 0 failed; 63 agent starts (3 hung on w1: ${frozenTasks.join(', ')}, run again on w2); 60 done markers; ${tree.length} processes of w1 gone`);
    survivor.child.kill('SIGTERM');
    expect((await survivor.exited).code, survivor.stderr()).toBe(0);
  }, 120_000);

  it('holds one rate limit across both workers (starts per interval, from the agents own clocks)', async () => {
    const ws = await space(16);
    const [a, b] = await Promise.all([startWorker('w1', [...queueArgs('qrate'), '--concurrency', '4', '--no-db']), startWorker('w2', [...queueArgs('qrate'), '--concurrency', '4', '--no-db'])]);
    // 4 starts per second across the queue: without a shared limit, 2 workers x 4 in flight would run 16 fast agents in well under a second.
    const summary = await enqueueAndWait('qrate', ws, ['--rate-limit', '4/1s']);
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
    console.log(`rate limit 4/1s: 16 starts over ${(span / 1000).toFixed(2)} s, at most ${busiest} in any 700 ms; w1 ${hosts.get('w1')}, w2 ${hosts.get('w2')}`);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }, 120_000);

  it('SIGTERM: running agents finish, no new job is taken, the worker exits 0', async () => {
    const ws = await space(6);
    const w = await startWorker('w1', [...queueArgs('qterm'), '--concurrency', '2', '--no-db'], { AGENT_SLEEP: '1.5' });
    await enqueue('qterm', ws);
    const started = await until('2 agents started', async () => {
      const s = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start');
      return s.length >= 2 ? s : undefined;
    });
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(w.stderr()).toMatch(/SIGTERM: taking no more jobs; 2 agent runs in flight/);
    const markers = await readMarkers(ws.markers);
    expect(markers.filter((m) => m.kind === 'start').map((m) => m.task).sort()).toEqual(started.map((m) => m.task).sort());
    expect(markers.filter((m) => m.kind === 'done').map((m) => m.task).sort()).toEqual(started.map((m) => m.task).sort());
    expect(await withQueue('qterm', (q) => q.getJobCounts('completed', 'waiting', 'active', 'failed', 'delayed'))).toMatchObject({ completed: 2, waiting: 4, active: 0, failed: 0, delayed: 0 });
  }, 60_000);

  it('SIGTERM past --shutdown-timeout: agents stopped, their jobs back in the queue; another worker completes them', async () => {
    const ws = await space(3);
    const w = await startWorker('w1', [...queueArgs('qdeadline'), '--concurrency', '2', '--shutdown-timeout', '300ms', '--launcher', 'helper', '--no-db'], { AGENT_SLEEP: '60' });
    await enqueue('qdeadline', ws);
    const started = await until('2 agents started', async () => {
      const s = (await readMarkers(ws.markers)).filter((m) => m.kind === 'start');
      return s.length >= 2 ? s : undefined;
    });
    const tree = await descendants(w.pid);
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(w.stderr()).toMatch(/stopped 2 agent runs at the deadline; their jobs are back in the queue/);
    expect(await settleLeftovers({ pids: tree, pgids: started.map((m) => m.pid) })).toEqual([]);
    // Not failed, not spent: waiting (or delayed by 0 ms) for another host.
    const counts = await withQueue('qdeadline', (q) => q.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed'));
    expect(counts).toMatchObject({ completed: 0, failed: 0, active: 0 });
    expect(counts.waiting! + counts.delayed!).toBe(3);

    const next = await startWorker('w2', [...queueArgs('qdeadline'), '--concurrency', '3', '--no-db']);
    const summary = await waitForRun({ redis: redis.url, queue: 'qdeadline', run: 'r1', timeoutMs: 60_000 });
    expect(summary).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const done = await completedResults('qdeadline');
    expect(done.map((d) => [d.processedBy, d.result.attempt])).toEqual([
      ['w2', 1],
      ['w2', 1],
      ['w2', 1],
    ]);
    next.child.kill('SIGTERM');
    await next.exited;
  }, 90_000);
});
