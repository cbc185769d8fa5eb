/**
 * The fleet commands' bad input, end to end: an unreachable Redis (exit 2,
 * the URL named, nothing started), malformed flags, agents and task files
 * (exit 2, file and line named, nothing enqueued), enqueueing twice, and
 * bullmq missing altogether (the fleet commands say to install it; `run`
 * does not need it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from '../cli/run-cli.ts';
import { withTempDir } from '../support/fixtures.ts';
import { freePort, type RedisServer, startRedis } from '../support/redis-server.ts';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

async function jobCounts(queue: string): Promise<Record<string, number>> {
  const q = new Queue(queue, { connection: { url: redis.url } });
  try {
    return await q.getJobCounts();
  } finally {
    await q.close();
  }
}

const empty = (counts: Record<string, number>) => Object.values(counts).every((n) => n === 0);

describe('spawnpool enqueue / worker / status: bad input', () => {
  it('an unreachable Redis: exit 2, the URL named, nothing started', async () => {
    await withTempDir(async (dir) => {
      const url = `redis://127.0.0.1:${await freePort()}`;
      const agents = path.join(dir, 'agents.json');
      await writeFile(agents, JSON.stringify({ agents: [{ name: 'a', command: 'true' }] }));
      const db = path.join(dir, 'history.db');
      for (const args of [['worker', '--db', db], ['enqueue', agents], ['status']]) {
        const r = await cli([...args, '--redis', url, '--queue', 'q']);
        expect(r.code, args[0]).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^spawnpool ${args[0]}: cannot reach Redis at ${url.replaceAll('.', '\\.')}: connect ECONNREFUSED`));
      }
      // The worker stopped before its Spawner existed: no history file was opened.
      expect(existsSync(db)).toBe(false);
    });
  });

  it.concurrent.for([
    [['worker', '--queue', 'q'], /^spawnpool worker: Expected --redis URL/],
    [['worker', '--redis', 'REDIS'], /^spawnpool worker: Expected --queue NAME/],
    [['status', '--redis', 'http://x', '--queue', 'q'], /^spawnpool status: Expected --redis to be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/x"/],
    [['worker', '--redis', 'REDIS', '--queue', 'a:b'], /^spawnpool worker: Expected --queue to be 1 to 100 letters/],
    [
      ['worker', '--redis', 'REDIS', '--queue', 'q', '--stalled-interval', 'soon'],
      /^spawnpool worker: Expected --stalled-interval to be a duration of at least 1 ms \(e\.g\. 500, 500ms, 30s, 2m\), got "soon"/,
    ],
    [['worker', '--redis', 'REDIS', '--queue', 'q', '--concurrency', '0'], /^spawnpool worker: Expected --concurrency to be an integer from 1 up, got "0"/],
    [['worker', '--redis', 'REDIS', '--queue', 'q', 'agents.json'], /^spawnpool worker: Unexpected argument "agents\.json"/],
    [['enqueue', '--redis', 'REDIS', '--queue', 'q', 'AGENTS', '--rate-limit', '5'], /^spawnpool enqueue: Expected --rate-limit to be N\/T/],
    [['enqueue', '--redis', 'REDIS', '--queue', 'q', 'AGENTS', '--run-name', '7'], /^spawnpool enqueue: Expected --run-name to be 1 to 100 letters/],
    [['enqueue', '--redis', 'REDIS', '--queue', 'q', 'AGENTS', '--timeout', '5s'], /^spawnpool enqueue: --timeout applies to --wait/],
    [['enqueue', '--redis', 'REDIS', '--queue', 'q', 'AGENTS', '--bogus'], /^spawnpool enqueue: Unknown option `--bogus`; --help lists the options$/m],
    [
      ['enqueue', '--redis', 'REDIS', '--queue', 'q', 'AGENTS', '--atempts', '2'],
      /^spawnpool enqueue: Unknown option `--atempts`: did you mean `--attempts`\?$/m,
    ],
  ] as [string[], RegExp][])('%j: exit 2 naming the flag', async ([args, message], { expect }) => {
    const r = await cli(args.map((a) => (a === 'REDIS' ? redis.url : a === 'AGENTS' ? path.join(ROOT, 'examples', 'agents.json') : a)));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a malformed task file or agents file: exit 2 naming the file and line or field; nothing enqueued', async () => {
    await withTempDir(async (dir) => {
      const agents = path.join(dir, 'agents.json');
      const tasks = path.join(dir, 'tasks.jsonl');
      await writeFile(agents, JSON.stringify({ agents: [{ name: 'a', command: 'true', args: ['{{task.file}}'] }] }));
      await writeFile(tasks, '{"id":"1","file":"a.ts"}\n{"id":"2","file":"b.ts"}\n{"id":"3","file":\n');
      const q = ['--redis', redis.url, '--queue', 'qmalformed'];
      let r = await cli(['enqueue', ...q, agents, '--tasks', tasks]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^spawnpool enqueue: ${tasks.replaceAll('.', '\\.')}:3: not valid JSON`));

      await writeFile(tasks, '{"id":"1","file":"a.ts"}\n{"id":"2","fil":"b.ts"}\n');
      r = await cli(['enqueue', ...q, agents, '--tasks', tasks]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${tasks}:2: task "2": ${agents}: agent "a": field "args[0]": {{task.file}} names no field of the task (its fields: id, fil)`);

      await writeFile(agents, JSON.stringify({ agents: [{ name: 'a', command: 'true', timeoutMS: 5 }] }));
      r = await cli(['enqueue', ...q, agents]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${agents}: agent "a" (agents[0]): unknown field "timeoutMS"`);

      await writeFile(agents, JSON.stringify({ agents: [{ name: 'a', command: 'true', prompt: { templateFile: 'missing.md' } }] }));
      r = await cli(['enqueue', ...q, agents]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/missing\.md/);
      expect(empty(await jobCounts('qmalformed'))).toBe(true);
      expect(empty(await jobCounts('qmalformed-runs'))).toBe(true);
    });
  });

  it('enqueueing the same run twice adds nothing', async () => {
    await withTempDir(async (dir) => {
      const agents = path.join(dir, 'agents.json');
      const tasks = path.join(dir, 'tasks.csv');
      await writeFile(
        agents,
        JSON.stringify({
          agents: [
            { name: 'a', command: 'true' },
            { name: 'b', command: 'true' },
          ],
        }),
      );
      await writeFile(tasks, 'id,x\nt1,1\nt2,2\nt3,3\n');
      const args = ['enqueue', '--redis', redis.url, '--queue', 'qtwice', agents, '--tasks', tasks, '--run-name', 'nightly'];
      const first = await cli(args);
      expect(first.stdout).toBe('run "nightly": 6 agent runs in queue "qtwice" (6 added, 0 already there)\n');
      const second = await cli([...args, '--json']);
      expect(JSON.parse(second.stdout)).toEqual({ run: 'nightly', queue: 'qtwice', jobs: 6, added: 0 });
      expect(await jobCounts('qtwice')).toMatchObject({ waiting: 6, active: 0, completed: 0 });
      const status = await cli(['status', '--redis', redis.url, '--queue', 'qtwice']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('queue "qtwice" at');
      expect(status.stdout).toContain('6 waiting, 0 active, 0 completed, 0 failed');
      expect(status.stdout).toMatch(/nightly\s+waiting-children\s+6\s+0\s+0\s+6/);
    });
  });
});

describe('without bullmq installed', () => {
  const NO_BULLMQ = fileURLToPath(new URL('./fixtures/no-bullmq.mjs', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', NO_BULLMQ, `${ROOT}dist/src/cli/main.js`, ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('the fleet commands exit 2 saying to install it; spawnpool run and the core entry, which never load it, work', async () => {
    const r = await run(['status', '--redis', redis.url, '--queue', 'q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('need the bullmq package (an optional peer dependency of spawnpool): npm install bullmq');
    // spawnpool run works, and the core entry runs an agent.
    await withTempDir(async (dir) => {
      const agents = path.join(dir, 'agents.json');
      await writeFile(agents, JSON.stringify({ agents: [{ name: 'a', command: 'true' }] }));
      const ok = await run(['run', agents, '--no-db', '--json']);
      expect(ok.code, ok.stderr).toBe(0);
    });
    const script = `const { Spawner } = await import(${JSON.stringify(`${ROOT}dist/src/index.js`)});
      const spawner = new Spawner({ workers: 1, prometheus: false });
      const [result] = await spawner.spawnBatch([{ name: 'a', command: 'true' }]).results;
      await spawner.close();
      console.log(result.ok);`;
    const core = await promisify(execFile)(process.execPath, ['--import', NO_BULLMQ, '--input-type=module', '-e', script], { cwd: ROOT });
    expect(core.stdout).toBe('true\n');
  });
});
