/**
 * spawnpool/bullmq as a library, in this process, against a real
 * redis-server: what a job returns, how bad payloads and failing agents end,
 * idempotent enqueueing, agents named from a shared file, option checking
 * and an unreachable Redis.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Spawner } from '../../src/index.ts';
import { type AgentRunResult, enqueueRun, FleetWorker, fleetStatus, parseTasks, waitForRun } from '../../src/fleet/index.ts';
import { agentScript, NODE, withTempDir } from '../support/fixtures.ts';
import { settleLeftovers } from '../reliability/helpers.ts';
import { freePort, type RedisServer, startRedis } from '../support/redis-server.ts';
import { MARK_AGENT, readMarkers } from './fleet-support.ts';

let redis: RedisServer;
let spawner: Spawner;

beforeAll(async () => {
  [redis, spawner] = await Promise.all([startRedis(), (async () => new Spawner({ workers: 1, prometheus: false }))()]);
  await spawner.ready;
});

afterAll(async () => {
  await spawner?.close();
  await redis?.stop();
});

/** Runs `fn` with a worker on `queue` (sharing the test's Spawner) and always closes it. */
async function withWorker<T>(queue: string, fn: (worker: FleetWorker) => Promise<T>, extra: Partial<Parameters<typeof FleetWorker.start>[0]> = {}): Promise<T> {
  const worker = await FleetWorker.start({ redis: redis.url, queue, spawner, host: 'lib-host', concurrency: 2, ...extra });
  try {
    return await fn(worker);
  } finally {
    await worker.close();
  }
}

async function withQueue<T>(name: string, fn: (q: Queue, events: QueueEvents) => Promise<T>): Promise<T> {
  const q = new Queue(name, { connection: { url: redis.url } });
  const events = new QueueEvents(name, { connection: { url: redis.url } });
  await events.waitUntilReady();
  try {
    return await fn(q, events);
  } finally {
    await Promise.all([events.close(), q.close()]);
  }
}

/** How the job ended: its return value, or its failed reason. */
async function outcome(job: Job, events: QueueEvents): Promise<{ ok: true; value: AgentRunResult } | { ok: false; reason: string }> {
  return job.waitUntilFinished(events, 30_000).then(
    (value: AgentRunResult) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, reason: error.message }),
  );
}

const sh = (script: string) => ({ command: 'sh', args: ['-c', script] });

/** Polls `check` every 25 ms until it returns a value; rejects after 20 s. For facts no event reports (another process's files and death). */
async function until<T>(check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('FleetWorker', () => {
  it('fails a job whose payload or spec is invalid with the ConfigError message, without retries, and goes on with the next job', async () => {
    await withQueue('qbad', async (q, events) => {
      await withWorker('qbad', async (worker) => {
        const opts = { attempts: 3, backoff: 10 };
        const jobs = await Promise.all([
          q.add('agent-run', { v: 1, run: 'r1', agent: { spec: { name: 'a', command: 'true', timeoutMS: 5 } } }, { ...opts, jobId: 'r1/bad-spec' }),
          q.add('agent-run', { v: 2, run: 'r1', agent: { spec: { name: 'a', command: 'true' } } }, { ...opts, jobId: 'r1/bad-version' }),
          q.add('agent-run', { v: 1, run: 'r1', agent: { spec: { name: 'a', command: 'true' } }, extra: 1 }, { ...opts, jobId: 'r1/extra-field' }),
          q.add('agent-run', { v: 1, run: 'r1', agent: 'named' }, { ...opts, jobId: 'r1/named' }),
          q.add(
            'agent-run',
            { v: 1, run: 'r1', agent: { spec: { name: 'a', command: 'true', prompt: { templateFile: 'no-such.md' } } } },
            { ...opts, jobId: 'r1/missing-file' },
          ),
          q.add('something-else', { v: 1 }, { ...opts, jobId: 'r1/other-name' }),
        ]);
        const good = await q.add('agent-run', { v: 1, run: 'r1', agent: { spec: { name: 'ok', ...sh('echo hi') } } }, { jobId: 'r1/good' });
        const ends = await Promise.all([...jobs, good].map((j) => outcome(j, events)));
        expect(ends.slice(0, -1).map((e) => (e.ok ? 'completed' : e.reason))).toEqual([
          'job r1/bad-spec: agent "a" (agents[0]): unknown field "timeoutMS" (did you mean "timeoutMs"?)',
          'job r1/bad-version: invalid payload: field "v": Invalid input: expected 1',
          'job r1/extra-field: invalid payload: unknown field "extra"',
          'job r1/named: names agent "named", but this worker has no agents file (start it with --agents FILE)',
          expect.stringMatching(/^job r1\/missing-file: agent "a".*templateFile.*no-such\.md/),
          'job r1/other-name: not a spawnpool agent run (job name "something-else", expected "agent-run")',
        ]);
        // Unrecoverable: one attempt each, though 3 were allowed.
        for (const j of jobs) expect((await q.getJob(j.id!))!.attemptsMade, j.id).toBe(1);
        expect(ends.at(-1)).toMatchObject({ ok: true, value: { ok: true, stdout: 'hi\n', exitCode: 0, host: 'lib-host' } });
        expect(worker.running).toBe(0);
      });
    });
  });

  it('returns the run result: exit code, timings, prompt sha256, output (or the paths of its saved output), host', async () => {
    await withTempDir(async (dir) => {
      const tasks = parseTasks('{"id":"t1","who":"ann"}\n{"id":"t/2","who":"bob"}\n', { file: 'tasks.jsonl', format: 'jsonl' });
      const agents = { agents: [{ name: 'echo', command: NODE, args: [agentScript('echo-sha256.mjs')], prompt: { template: 'Hello {{task.who}}' } }] };
      const outputDir = path.join(dir, 'out');
      await withWorker(
        'qresult',
        async () => {
          const report = await enqueueRun({ redis: redis.url, queue: 'qresult', agents, tasks, run: 'r1' });
          expect(report).toEqual({ run: 'r1', queue: 'qresult', jobs: 2, added: 2 });
          expect(await waitForRun({ redis: redis.url, queue: 'qresult', run: 'r1', timeoutMs: 30_000 })).toEqual({
            run: 'r1',
            total: 2,
            succeeded: 2,
            failed: 0,
            failures: [],
          });
        },
        { outputDir },
      );
      await withQueue('qresult', async (q) => {
        for (const [id, who] of [
          ['r1/echo/t1', 'ann'],
          ['r1/echo/t%2F2', 'bob'],
        ] as const) {
          const result = (await q.getJob(id))!.returnvalue as AgentRunResult;
          const sha = createHash('sha256').update(`Hello ${who}`).digest('hex');
          expect(result).toMatchObject({
            jobId: id,
            run: 'r1',
            agent: 'echo',
            host: 'lib-host',
            attempt: 1,
            ok: true,
            exitCode: 0,
            signal: null,
            error: null,
            stdout: null,
            stderr: null,
          });
          expect(result.prompt).toMatchObject({ sha256: sha, bytes: `Hello ${who}`.length, truncated: false });
          expect(result.stdoutFile).toBe(path.join(outputDir, ...id.split('/')) + '.stdout');
          // The agent itself hashed what it was given: the same bytes.
          expect(await readFile(result.stdoutFile!, 'utf8')).toBe(`${sha} ${`Hello ${who}`.length}\n`);
          // The spawn's own timings (their meaning is the core's, see the README), and the run's duration.
          expect(Object.keys(result.timings).sort()).toEqual(['buildMs', 'launchMs', 'queueMs', 'runMs', 'spawnMs']);
          for (const v of Object.values(result.timings)) expect(Number.isFinite(v) && v >= 0).toBe(true);
          expect(result.timings.spawnMs).toBeGreaterThan(0);
          expect(result.timings.runMs).toBeGreaterThan(0);
          expect(result.waitMs).toBeGreaterThanOrEqual(0);
          expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt));
        }
      });
    });
  });

  it('retries a failing agent with backoff, then fails it with its code; each attempt is in the job log; the run still completes', async () => {
    await withWorker('qretry', async () => {
      const agents = {
        agents: [
          { name: 'bad', ...sh('echo oops >&2; exit 3') },
          { name: 'good', ...sh('true') },
          { name: 'missing', command: '/nonexistent/spawnpool-agent' },
        ],
      };
      await enqueueRun({ redis: redis.url, queue: 'qretry', agents, run: 'r1', attempts: 2, backoffMs: 20 });
      const summary = await waitForRun({ redis: redis.url, queue: 'qretry', run: 'r1', timeoutMs: 30_000 });
      expect(summary).toMatchObject({ run: 'r1', total: 3, succeeded: 1, failed: 2 });
      expect([...summary.failures].sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual([
        { jobId: 'r1/bad', reason: expect.stringMatching(/^\[E_EXIT\] .*3/) },
        { jobId: 'r1/missing', reason: expect.stringMatching(/^\[E_ENOENT\] /) },
      ]);
      await withQueue('qretry', async (q) => {
        const job = (await q.getJob('r1/bad'))!;
        expect(job.attemptsMade).toBe(2);
        const { logs } = await q.getJobLogs('r1/bad');
        expect(logs.map((l) => JSON.parse(l) as AgentRunResult).map((r) => [r.attempt, r.exitCode, r.stderr, r.error?.code])).toEqual([
          [1, 3, 'oops\n', 'E_EXIT'],
          [2, 3, 'oops\n', 'E_EXIT'],
        ]);
        // An agent the OS would not start carries the OS's own error, as SpawnError.errno does.
        const missing = (await q.getJobLogs('r1/missing')).logs.map((l) => (JSON.parse(l) as AgentRunResult).error);
        expect(missing).toEqual([1, 2].map(() => expect.objectContaining({ code: 'E_ENOENT', stage: 'spawn', errno: 'ENOENT' })));
      });
    });
  });

  it('runs agents named from an agents file the workers share, tasks substituted on the worker', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'agents.json');
      const content = {
        defaults: { env: { GREETING: 'hi' } },
        agents: [{ name: 'greet', ...sh('echo "$GREETING $0"'), args: ['-c', 'echo "$GREETING $0"', '{{task.who}}'] }],
      };
      await writeFile(file, JSON.stringify(content));
      const tasks = parseTasks('who\nann\nbob\n', { file: 'tasks.csv', format: 'csv' });
      await withWorker(
        'qnamed',
        async () => {
          await enqueueRun({ redis: redis.url, queue: 'qnamed', agents: content, agentsFile: file, tasks, run: 'r1', byName: true });
          expect(await waitForRun({ redis: redis.url, queue: 'qnamed', run: 'r1', timeoutMs: 30_000 })).toMatchObject({ succeeded: 2, failed: 0 });
        },
        { agentsFile: file },
      );
      await withQueue('qnamed', async (q) => {
        const jobs = await q.getJobs(['completed']);
        expect(jobs.map((j) => [j.id, (j.data as { agent: unknown }).agent, (j.returnvalue as AgentRunResult).stdout]).sort()).toEqual([
          ['r1/greet/1', 'greet', 'hi ann\n'],
          ['r1/greet/2', 'greet', 'hi bob\n'],
        ]);
      });
    });
  });

  it('close() past its timeout stops running agents and puts their jobs back in the queue, no attempt spent; another worker completes them', async () => {
    await withTempDir(async (dir) => {
      // The marker agent sleeps 60 s, until the file "release" exists.
      const agents = { agents: [{ name: 'mark', command: MARK_AGENT, args: [dir, '{{task.id}}', '60'], env: { FLEET_TEST_HOST: 'lib' } }] };
      const tasks = parseTasks('{"id":"t1"}\n{"id":"t2"}\n{"id":"t3"}\n', { file: 'tasks.jsonl', format: 'jsonl' });
      const first = await FleetWorker.start({ redis: redis.url, queue: 'qdeadline', spawner, host: 'first', concurrency: 2 });
      await enqueueRun({ redis: redis.url, queue: 'qdeadline', agents, tasks, run: 'r1', attempts: 1 });
      const started = await until(async () => {
        const s = (await readMarkers(dir)).filter((m) => m.kind === 'start');
        return s.length >= 2 ? s : undefined;
      });
      expect(await first.close({ timeoutMs: 300 })).toEqual({ stopped: 2 });
      expect(await settleLeftovers({ pgids: started.map((m) => m.pid) })).toEqual([]);
      await withQueue('qdeadline', async (q) => {
        const counts = await q.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
        expect(counts).toMatchObject({ completed: 0, failed: 0, active: 0 });
        expect(counts.waiting! + counts.delayed!).toBe(3);
      });
      await writeFile(path.join(dir, 'release'), '');
      await withWorker('qdeadline', async () => {
        expect(await waitForRun({ redis: redis.url, queue: 'qdeadline', run: 'r1', timeoutMs: 30_000 })).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
      });
      await withQueue('qdeadline', async (q) => {
        const done = await q.getJobs(['completed']);
        // attempts: 1, and still completed: being put back spent no attempt.
        expect(done.map((j) => [(j.returnvalue as AgentRunResult).host, (j.returnvalue as AgentRunResult).attempt])).toEqual([
          ['lib-host', 1],
          ['lib-host', 1],
          ['lib-host', 1],
        ]);
      });
    });
  });

  it('stops the agent of a job whose lock it could not renew (another worker may run it), and the job runs again', async () => {
    await withTempDir(async (dir) => {
      // The first run writes its pid and hangs; a second run (the job taken again) finds the pid file and exits 0.
      const pidFile = path.join(dir, 'pid');
      const agents = { agents: [{ name: 'once', command: 'sh', args: ['-c', 'if [ -e "$0" ]; then exit 0; fi; echo $$ > "$0"; sleep 60', pidFile] }] };
      await withQueue('qlock', async (q) => {
        await withWorker(
          'qlock',
          async () => {
            await enqueueRun({ redis: redis.url, queue: 'qlock', agents, run: 'r1' });
            const pid = await until(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined);
            const started = Date.now();
            // As if the lock had expired while Redis was out of reach: the next renewal fails.
            const client = await q.client;
            expect(await client.del(`${q.toKey('r1/once')}:lock`)).toBe(1);
            await until(async () => !alive(pid));
            expect(Date.now() - started).toBeLessThan(20_000);
            expect(await waitForRun({ redis: redis.url, queue: 'qlock', run: 'r1', timeoutMs: 30_000 })).toMatchObject({ succeeded: 1, failed: 0 });
          },
          { lockDurationMs: 1000, stalledIntervalMs: 300 },
        );
      });
    });
  });
});

describe('enqueueRun', () => {
  const agents = { agents: [{ name: 'a', command: 'true' }] };
  const three = parseTasks('{"id":"1"}\n{"id":"2"}\n{"id":"3"}\n', { file: 't.jsonl', format: 'jsonl' });

  it('adds nothing when the same run is enqueued again, and refuses a run name reused for other agent runs', async () => {
    const first = await enqueueRun({ redis: redis.url, queue: 'qidem', agents, tasks: three });
    expect(first).toEqual({ run: expect.stringMatching(/^run-[0-9a-f]{12}$/), queue: 'qidem', jobs: 3, added: 3 });
    // Same input, same default name: the same run.
    expect(await enqueueRun({ redis: redis.url, queue: 'qidem', agents, tasks: three })).toEqual({ ...first, added: 0 });
    const status = await fleetStatus({ redis: redis.url, queue: 'qidem' });
    expect(status).toMatchObject({
      waiting: 3,
      active: 0,
      completed: 0,
      failed: 0,
      remaining: 3,
      runs: [{ run: first.run, state: 'waiting-children', total: 3, pending: 3 }],
    });
    const four = parseTasks('{"id":"1"}\n{"id":"2"}\n{"id":"3"}\n{"id":"4"}\n', { file: 't.jsonl', format: 'jsonl' });
    await expect(enqueueRun({ redis: redis.url, queue: 'qidem', agents, tasks: four, run: first.run })).rejects.toThrow(
      `run "${first.run}" is already in queue "qidem" with 3 agent runs, and this enqueue has 1 it does not have: give it another run name`,
    );
    expect((await fleetStatus({ redis: redis.url, queue: 'qidem' })).waiting).toBe(3);
  });

  it('enqueues nothing when an agent run is invalid or names a file that is not there', async () => {
    await expect(
      enqueueRun({ redis: redis.url, queue: 'qinvalid', agents: { agents: [{ name: 'a', command: 'true', args: ['{{task.nope}}'] }] }, tasks: three }),
    ).rejects.toThrow(/^t\.jsonl:1: task "1": agent "a": field "args\[0\]": \{\{task\.nope\}\} names no field/);
    await expect(
      enqueueRun({ redis: redis.url, queue: 'qinvalid', agents: { agents: [{ name: 'a', command: 'true', prompt: { context: ['missing.md'] } }] } }),
    ).rejects.toThrow(/missing\.md/);
    expect(await fleetStatus({ redis: redis.url, queue: 'qinvalid' })).toMatchObject({ waiting: 0, remaining: 0, runs: [] });
  });

  it('sets and removes the queue global rate limit', async () => {
    await enqueueRun({ redis: redis.url, queue: 'qlimit', agents, run: 'r1', rateLimit: { max: 5, durationMs: 2000 } });
    expect((await fleetStatus({ redis: redis.url, queue: 'qlimit' })).rateLimit).toEqual({ max: 5, durationMs: 2000 });
    await enqueueRun({ redis: redis.url, queue: 'qlimit', agents, run: 'r1', rateLimit: null });
    expect((await fleetStatus({ redis: redis.url, queue: 'qlimit' })).rateLimit).toBeNull();
  });
});

describe('options and an unreachable Redis', () => {
  it('refuses unknown option keys, naming them, and bad values, naming the option', async () => {
    await expect(FleetWorker.start({ redis: redis.url, queue: 'q', concurency: 2 } as never)).rejects.toThrow(
      'Unknown option `concurency` in FleetWorker.start(): did you mean `concurrency`?',
    );
    await expect(enqueueRun({ redis: redis.url, queue: 'q', agents, atempts: 2 } as never)).rejects.toThrow(
      'Unknown option `atempts` in enqueueRun(): did you mean `attempts`?',
    );
    await expect(fleetStatus({ redis: redis.url, queue: 'q', bogus: 1 } as never)).rejects.toThrow(
      /^Unknown option `bogus` in fleetStatus\(\); the options are `redis`, `queue`, `windowMs`, `prefix`$/,
    );
    await expect(FleetWorker.start({ redis: redis.url, queue: 'a:b' })).rejects.toThrow(
      'Expected the `queue` option to be 1 to 100 letters, digits, ".", "_" or "-" (starting with a letter or digit), got `a:b`',
    );
    await expect(FleetWorker.start({ redis: 'http://127.0.0.1:6379', queue: 'q' })).rejects.toThrow(
      'Expected the `redis` option to be a redis:// or rediss:// URL, got `http://127.0.0.1:6379`',
    );
    await expect(FleetWorker.start({ redis: redis.url, queue: 'q', concurrency: 0 })).rejects.toThrow(
      'Expected the `concurrency` option to be a number > 0, got `0`',
    );
    await expect(enqueueRun({ redis: redis.url, queue: 'q', agents: { ...agents, agnets: [] } as never })).rejects.toThrow(
      'Unknown option `agents.agnets` in enqueueRun(): did you mean `agents.agents`?',
    );
    await expect(enqueueRun({ redis: redis.url, queue: 'q', agents, run: '42' })).rejects.toThrow(
      'Expected the `run` option to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter, got `42`',
    );
  });
  const agents = { agents: [{ name: 'a', command: 'true' }] };

  it('reports an unreachable Redis as a ConfigError naming the URL (password hidden), and starts nothing', async () => {
    const url = `redis://:secret@127.0.0.1:${await freePort()}`;
    const calls = [
      () => FleetWorker.start({ redis: url, queue: 'q', spawnerOptions: { workers: 1 } }),
      () => enqueueRun({ redis: url, queue: 'q', agents }),
      () => fleetStatus({ redis: url, queue: 'q' }),
      () => waitForRun({ redis: url, queue: 'q', run: 'r1' }),
    ];
    for (const call of calls) {
      const error = await call().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(/^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      expect(error!.message).not.toContain('secret');
    }
  });
});
