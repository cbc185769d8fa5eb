/**
 * runHarness() with a real spawner and real processes: agents × tasks,
 * concurrency overall and per agent, rate limits, retries, timeouts, halting,
 * named runs resumed from the history, stop, results folders, dry runs. When
 * a limit is checked, the times are the agents' own (written by the agent
 * process), not the harness's bookkeeping.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { dryRunHarness } from '../../src/harness/dry-run.ts';
import { runHarness } from '../../src/harness/harness.ts';
import { DirectLauncher } from '../../src/launch/direct-launcher.ts';
import type { Launcher, LaunchEvents, LaunchRequest } from '../../src/launch/types.ts';
import { Spawner } from '../../src/spawner.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { leftovers, newTag, settleLeftovers } from '../reliability/helpers.ts';
import { drain, maxOverlap, query, runsOf, spanAgent, spans } from './helpers.ts';

// Spawners start worker threads and a helper process: one for most tests, one with a history for the named runs.
let shared: Spawner;
let recorded: Spawner;
let historyDir: string;
let db: string;
beforeAll(async () => {
  historyDir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-harness-'));
  db = path.join(historyDir, 'history.db');
  shared = new Spawner({ workers: 1 });
  recorded = new Spawner({ workers: 1, history: { path: db } });
  await Promise.all([shared.ready, recorded.ready]);
});
afterAll(async () => {
  await Promise.all([shared?.close(), recorded?.close()]);
  await rm(historyDir, { recursive: true, force: true });
});

/** Runs `fn` with the shared spawner (it is not closed). */
const withShared = <T>(fn: (spawner: Spawner) => Promise<T>): Promise<T> => fn(shared);

const rows = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ id: `t${i + 1}`, ...extra(i + 1) }));

describe('runHarness: agents x tasks', () => {
  it('runs every agent once per task as <agent>/<task id>, with the task in args and prompt, and sums it up', async () => {
    await withShared(async (spawner) => {
      const runs = runsOf(
        [
          { name: 'say', command: '/bin/echo', args: ['{{task.id}}:{{task.word}}'] },
          { name: 'cat', command: '/bin/cat', prompt: { template: 'prompt for {{task.word}}' } },
        ],
        rows(4, (i) => ({ word: `w${i}` })),
      );
      const { attempts, summary } = await drain(await runHarness(spawner, runs, { concurrency: 3 }));
      expect(attempts.map((a) => a.run).sort()).toEqual(['cat/t1', 'cat/t2', 'cat/t3', 'cat/t4', 'say/t1', 'say/t2', 'say/t3', 'say/t4']);
      for (const a of attempts) {
        expect(a).toMatchObject({ ok: true, attempt: 1, next: 'done' });
        expect(a.result.stdout.trim()).toBe(a.agent === 'say' ? `${a.taskId}:w${a.taskId!.slice(1)}` : `prompt for w${a.taskId!.slice(1)}`);
      }
      expect(summary).toMatchObject({ total: 8, succeeded: 8, failed: 0, attempts: 8, retried: 0, skipped: 0, ok: true, halted: undefined, error: undefined });
      expect(summary.runs.map((r) => r.name)).toEqual(runs.map((r) => r.name));
      expect(summary.runs.every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
      expect(summary.stages.spawn.samples).toBe(8);
      expect(summary.stages.build.samples).toBe(4); // the cat runs have a prompt
    });
  });

  it("never has more than `concurrency` runs alive, nor more than an agent's maxConcurrent of its own", async () => {
    await withTempDir(async (dir) => {
      await withShared(async (spawner) => {
        // Alone, with room for 6: the agent's own limit is what holds it to 2.
        const alone = path.join(dir, 'alone');
        await mkdir(alone);
        const first = await drain(await runHarness(spawner, runsOf([spanAgent('one', alone, 0.5, { maxConcurrent: 2 })], rows(6)), { concurrency: 6 }));
        expect(first.summary.succeeded).toBe(6);
        expect(maxOverlap(await spans(alone))).toBe(2);

        // With another agent and 4 slots: at most 4 alive, at most 2 of them the limited agent's.
        const mixed = path.join(dir, 'mixed');
        await mkdir(mixed);
        const runs = runsOf([spanAgent('one', mixed, 0.5, { maxConcurrent: 2 }), spanAgent('many', mixed, 0.5)], rows(6));
        const { summary } = await drain(await runHarness(spawner, runs, { concurrency: 4 }));
        expect(summary.succeeded).toBe(12);
        const all = await spans(mixed);
        expect(all).toHaveLength(12);
        expect(maxOverlap(all)).toBeLessThanOrEqual(4);
        expect(maxOverlap(all.filter((s) => s.file.startsWith('one-')))).toBeLessThanOrEqual(2);
        // The limits are limits, not a queue of one: runs did overlap.
        expect(maxOverlap(all)).toBeGreaterThanOrEqual(3);
      });
    });
  });
});

describe('runHarness: rate limits', () => {
  it('starts at most N per interval overall, counted from the actual starts', async () => {
    await withTempDir(async (dir) => {
      await withShared(async (spawner) => {
        const runs = runsOf([spanAgent('r', dir, 0)], rows(6));
        const { summary } = await drain(await runHarness(spawner, runs, { concurrency: 6, rateLimits: [{ max: 2, intervalMs: 500 }] }));
        expect(summary.succeeded).toBe(6);
        const starts = (await spans(dir)).map((s) => s.start).sort((a, b) => a - b);
        // Any 3 consecutive starts span at least the interval (less what sh takes to start: well under 60 ms).
        for (let i = 0; i + 2 < starts.length; i++) expect(starts[i + 2]! - starts[i]!).toBeGreaterThanOrEqual(440);
        expect(summary.stages.wait.maxMs!).toBeGreaterThanOrEqual(900); // the 5th and 6th waited two windows
      });
    });
  });

  it("applies a per-agent limit to each agent alone: one agent's limit does not hold back another", async () => {
    await withTempDir(async (dir) => {
      await withShared(async (spawner) => {
        const runs = runsOf([spanAgent('a', dir, 0), spanAgent('b', dir, 0)], rows(3));
        const { summary } = await drain(await runHarness(spawner, runs, { concurrency: 6, rateLimits: [{ agent: '*', max: 1, intervalMs: 400 }] }));
        expect(summary.succeeded).toBe(6);
        const all = await spans(dir);
        const startsOf = (agent: string) =>
          all
            .filter((s) => s.file.startsWith(`${agent}-`))
            .map((s) => s.start)
            .sort((x, y) => x - y);
        for (const agent of ['a', 'b']) {
          const s = startsOf(agent);
          for (let i = 0; i + 1 < s.length; i++) expect(s[i + 1]! - s[i]!).toBeGreaterThanOrEqual(340);
        }
        // b's first run started with a's first, not after a's window.
        expect(Math.abs(startsOf('b')[0]! - startsOf('a')[0]!)).toBeLessThan(340);
      });
    });
  });

  it('refuses a rate limit for an agent that has no runs', async () => {
    await withShared(async (spawner) => {
      await expect(
        runHarness(spawner, runsOf([{ name: 'a', command: '/bin/true' }]), { rateLimits: [{ agent: 'b', max: 1, intervalMs: 10 }] }),
      ).rejects.toThrow(/agent "b", which has no runs/);
    });
  });
});

/** A launcher whose first launch of each agent fails as a fork out of processes would (E_SPAWN, errno EAGAIN); then launches for real. */
class EagainOnce implements Launcher {
  readonly #real = new DirectLauncher();
  readonly #seen = new Set<string>();
  launch(request: LaunchRequest, events: LaunchEvents) {
    if (!this.#seen.has(request.agent)) {
      this.#seen.add(request.agent);
      queueMicrotask(() =>
        events.exited({
          reason: 'spawn-failed',
          pid: undefined,
          exitCode: undefined,
          signal: undefined,
          stdout: '',
          stderr: '',
          stdoutTruncated: false,
          stderrTruncated: false,
          durationMs: 0,
          at: Date.now(),
          error: {
            code: 'E_SPAWN',
            message: `Agent "${request.agent}": could not start "${request.command}": spawn ${request.command} EAGAIN`,
            errno: 'EAGAIN',
          },
        }),
      );
      return { abort: () => {} };
    }
    return this.#real.launch(request, events);
  }
  close() {
    return this.#real.close();
  }
}

describe('runHarness: retries', () => {
  it('retries a transient spawn failure by default, with backoff; every attempt is its own record with its number', async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'history.db');
      await withSpawner({ workers: 1, launcher: new EagainOnce(), history: { path: db } }, async (spawner) => {
        const runs = runsOf([{ name: 'echo', command: '/bin/echo', args: ['{{task.id}}'] }], rows(3));
        const { attempts, summary } = await drain(
          await runHarness(spawner, runs, { runName: 'retry-test', retry: { retries: 2, baseDelayMs: 200, jitter: 0.5 } }),
        );
        expect(summary).toMatchObject({ succeeded: 3, failed: 0, attempts: 6, retried: 3 });
        for (const run of ['echo/t1', 'echo/t2', 'echo/t3']) {
          const [first, second] = attempts.filter((a) => a.run === run);
          expect(first).toMatchObject({ attempt: 1, ok: false, stage: 'spawn', next: 'retry' });
          expect(first!.error?.code).toBe('E_SPAWN');
          expect(first!.retryInMs!).toBeGreaterThanOrEqual(100);
          expect(first!.retryInMs!).toBeLessThanOrEqual(200);
          expect(second).toMatchObject({ attempt: 2, ok: true, next: 'done' });
          expect(second!.result.stdout.trim()).toBe(run.slice(5));
        }
        expect(summary.runs.map((r) => r.attempts)).toEqual([2, 2, 2]);
        await spawner.close();
        const rowsOf = query<{ agent_run: string; attempt: number; final: number; ok: number; stage: string | null; error_code: string | null }>(
          db,
          `SELECT h.agent_run, h.attempt, h.final, a.ok, a.stage, a.error_code FROM harness_attempts h
           JOIN batches b ON b.run_id = h.spawner_run_id AND b.batch_seq = h.batch_seq JOIN agent_runs a ON a.batch_id = b.id AND a.agent = h.agent_run
           WHERE h.run_name = 'retry-test' ORDER BY h.agent_run, h.attempt`,
        );
        expect(rowsOf).toEqual(
          ['echo/t1', 'echo/t2', 'echo/t3'].flatMap((r) => [
            { agent_run: r, attempt: 1, final: 0, ok: 0, stage: 'spawn', error_code: 'E_SPAWN' },
            { agent_run: r, attempt: 2, final: 1, ok: 1, stage: null, error_code: null },
          ]),
        );
      });
    });
  });

  it('retries chosen exit codes only, and timeouts when asked', async () => {
    await withTempDir(async (dir) => {
      await withShared(async (spawner) => {
        // Exits with the task's code the first time (leaving a marker), 0 after.
        const flaky = {
          name: 'flaky',
          command: '/bin/sh',
          args: ['-c', 'if [ -e "$1" ]; then exit 0; fi; : > "$1"; exit "$2"', 'sh', path.join(dir, 'exit-{{task.id}}'), '{{task.code}}'],
        };
        const runs = runsOf(
          [flaky],
          [
            { id: 'a', code: 75 },
            { id: 'b', code: 1 },
          ],
        );
        const { attempts, summary } = await drain(await runHarness(spawner, runs, { retry: { retries: 3, baseDelayMs: 10, on: { exitCodes: [75] } } }));
        expect(attempts.filter((a) => a.run === 'flaky/a').map((a) => [a.attempt, a.exitCode, a.next])).toEqual([
          [1, 75, 'retry'],
          [2, 0, 'done'],
        ]);
        expect(attempts.filter((a) => a.run === 'flaky/b').map((a) => [a.attempt, a.exitCode, a.next])).toEqual([[1, 1, 'done']]);
        expect(summary).toMatchObject({ succeeded: 1, failed: 1, ok: false });
        expect(summary.runs.find((r) => r.name === 'flaky/b')).toMatchObject({ status: 'failed', stage: 'run', code: 'E_EXIT', exitCode: 1 });

        // Hangs the first time, is quick after: killed at its timeout, then retried because timeouts were asked for.
        const slow = {
          name: 'slow',
          command: '/bin/sh',
          args: ['-c', 'if [ -e "$1" ]; then exit 0; fi; : > "$1"; exec sleep 30', 'sh', path.join(dir, 'slow-{{task.id}}')],
          killGraceMs: 200,
        };
        const second = await drain(
          await runHarness(spawner, runsOf([slow], rows(1)), { timeoutMs: 300, retry: { retries: 1, baseDelayMs: 10, on: { timeout: true } } }),
        );
        expect(second.attempts.map((a) => [a.attempt, a.stage, a.timeoutMs, a.next])).toEqual([
          [1, 'timeout', 300, 'retry'],
          [2, undefined, 300, 'done'],
        ]);
        expect(second.summary.succeeded).toBe(1);
      });
    });
  });
});

describe('runHarness: timeouts', () => {
  it('kills a run past a multiple of the median run time of the succeeded ones', async () => {
    await withShared(async (spawner) => {
      const agent = { name: 'nap', command: '/bin/sh', args: ['-c', 'exec sleep "$1"', 'sh', '{{task.s}}'], killGraceMs: 200 };
      const runs = runsOf([agent], [...rows(5, () => ({ s: 0.1 })), { id: 'long', s: 30 }]);
      const { attempts, summary } = await drain(await runHarness(spawner, runs, { concurrency: 1, relativeTimeout: { factor: 3, minSamples: 5 } }));
      const quick = attempts.slice(0, 5);
      expect(quick.every((a) => a.ok && a.timeoutMs === undefined)).toBe(true);
      const durations = quick.map((a) => a.durationMs).sort((x, y) => x - y);
      const long = attempts[5]!;
      expect(long).toMatchObject({ run: 'nap/long', ok: false, stage: 'timeout', timedOut: true });
      expect(long.timeoutMs).toBe(Math.ceil(3 * durations[2]!));
      expect(long.durationMs).toBeLessThan(10_000);
      expect(summary).toMatchObject({ succeeded: 5, failed: 1 });
    });
  });
});

describe('runHarness: halt', () => {
  const exits = (codes: number[]) =>
    runsOf(
      [{ name: 'x', command: '/bin/sh', args: ['-c', 'exit "$1"', 'sh', '{{task.code}}'] }],
      codes.map((code, i) => ({ id: `t${i + 1}`, code })),
    );

  it('soon,fail=2: starts nothing once 2 runs have failed', async () => {
    await withShared(async (spawner) => {
      const { attempts, summary } = await drain(await runHarness(spawner, exits([0, 1, 1, 0, 0, 0, 0, 0]), { concurrency: 1, halt: 'soon,fail=2' }));
      expect(attempts.map((a) => a.run)).toEqual(['x/t1', 'x/t2', 'x/t3']);
      expect(summary).toMatchObject({ succeeded: 1, failed: 2, notStarted: 5, ok: false, halted: { by: 'fail', when: 'soon', reason: 'soon,fail=2' } });
      expect(summary.runs.slice(3).every((r) => r.status === 'not-started')).toBe(true);
    });
  });

  it('now,fail=1: kills the running agents too, and leaves no process', async () => {
    const tag = newTag();
    await withShared(async (spawner) => {
      const runs = runsOf(
        [{ name: 'x', command: '/bin/sh', args: ['-c', 'if [ "$1" = 1 ]; then exit 1; fi; exec sleep 30', 'sh', '{{task.fail}}', tag], killGraceMs: 200 }],
        [{ id: 'bad', fail: 1 }, ...rows(3, () => ({ fail: 0 }))],
      );
      const pids: number[] = [];
      const harness = await runHarness(spawner, runs, { concurrency: 4, halt: 'now,fail=1', onSpawn: (o) => o.pid !== undefined && pids.push(o.pid) });
      const { summary } = await drain(harness);
      expect(summary).toMatchObject({ failed: 1, interrupted: 3, succeeded: 0, halted: { by: 'fail', when: 'now' } });
      expect(summary.runs.filter((r) => r.status === 'interrupted').every((r) => r.stage === 'aborted')).toBe(true);
      expect(await settleLeftovers({ tag, pids })).toEqual([]);
    });
  });

  it('soon,success=1: stops after the first success', async () => {
    await withShared(async (spawner) => {
      const { summary } = await drain(await runHarness(spawner, exits([1, 0, 0, 0]), { concurrency: 1, halt: { when: 'soon', success: 1 } }));
      expect(summary).toMatchObject({ failed: 1, succeeded: 1, notStarted: 2, halted: { by: 'success' } });
    });
  });
});

describe('runHarness: bad input starts nothing', () => {
  it('refuses a template file naming a task field the row lacks, naming the task file, line and field', async () => {
    await withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'review.mustache'), 'Review {{task.file}} in {{task.repo}}\n');
      await withShared(async (spawner) => {
        const runs = runsOf(
          [{ name: 'rev', command: '/bin/true', prompt: { templateFile: 'review.mustache' } }],
          [
            { id: 'ok', file: 'a', repo: 'r' },
            { id: 'short', file: 'b' },
          ],
        );
        const before = spawner.metrics.snapshot().count;
        const error = await runHarness(spawner, runs, { root: dir }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe(
          'tasks.jsonl:2: task "short": agent "rev": field "prompt.templateFile" (review.mustache): {{task.repo}} names no field of the task (its fields: id, file)',
        );
        expect(spawner.metrics.snapshot().count).toBe(before);
      });
    });
  });

  it('refuses duplicate runs, runs that are not validated, a named run without history', async () => {
    await withShared(async (spawner) => {
      const runs = runsOf([{ name: 'a', command: '/bin/true' }]);
      await expect(runHarness(spawner, [...runs, ...runs])).rejects.toThrow(/duplicate run "a"/);
      await expect(runHarness(spawner, [{ agent: 'a', taskId: undefined, name: 'a', spec: { name: 'a', command: 'x' } as never }])).rejects.toThrow(
        /validated/,
      );
      await expect(runHarness(spawner, runs, { runName: 'r' })).rejects.toThrow(/create the Spawner with a `history` option/);
      await expect(runHarness(spawner, [])).rejects.toThrow(/non-empty/);
    });
  });
});

describe('runHarness: named runs and resume', () => {
  it('refuses to reuse a run name without resume; resume skips what ended; resumeFailed runs the failed ones again', async () => {
    await withTempDir(async (dir) => {
      // Tasks with fail=1 fail until their marker file exists.
      const agent = {
        name: 'job',
        command: '/bin/sh',
        args: ['-c', 'if [ "$1" = 1 ] && [ ! -e "$2" ]; then exit 3; fi; exit 0', 'sh', '{{task.fail}}', path.join(dir, 'fixed-{{task.id}}')],
      };
      const runs = runsOf(
        [agent],
        rows(5, (i) => ({ fail: i > 3 ? 1 : 0 })),
      );
      await (async (spawner: Spawner) => {
        const first = await drain(await runHarness(spawner, runs, { runName: 'nightly' }));
        expect(first.summary).toMatchObject({ succeeded: 3, failed: 2, ok: false, runName: 'nightly' });

        await expect(runHarness(spawner, runs, { runName: 'nightly' })).rejects.toThrow(/run "nightly" already has 5 attempts in the history/);

        const resumed = await drain(await runHarness(spawner, runs, { runName: 'nightly', resume: true }));
        expect(resumed.attempts).toEqual([]);
        expect(resumed.summary).toMatchObject({ skipped: 5, previouslySucceeded: 3, succeeded: 0, ok: false });

        await writeFile(path.join(dir, 'fixed-t4'), '');
        await writeFile(path.join(dir, 'fixed-t5'), '');
        const again = await drain(await runHarness(spawner, runs, { runName: 'nightly', resumeFailed: true }));
        expect(again.attempts.map((a) => [a.run, a.attempt, a.ok])).toEqual(
          expect.arrayContaining([
            ['job/t4', 2, true],
            ['job/t5', 2, true],
          ]),
        );
        expect(again.attempts).toHaveLength(2);
        expect(again.summary).toMatchObject({ skipped: 3, previouslySucceeded: 3, succeeded: 2, ok: true });
        spawner.history!.flush();
      })(recorded);
      const perTask = query<{ agent_run: string; ok: number }>(
        db,
        `SELECT h.agent_run, sum(a.ok) AS ok FROM harness_attempts h JOIN batches b ON b.run_id = h.spawner_run_id AND b.batch_seq = h.batch_seq
         JOIN agent_runs a ON a.batch_id = b.id AND a.agent = h.agent_run WHERE h.run_name = 'nightly' GROUP BY h.agent_run ORDER BY h.agent_run`,
      );
      expect(perTask).toEqual(rows(5).map((r) => ({ agent_run: `job/${r.id}`, ok: 1 })));
    });
  });

  it('cleanup removes the attempts of the batches it deletes', async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'history.db');
      await withSpawner({ workers: 1, history: { path: db } }, async (spawner) => {
        await drain(await runHarness(spawner, runsOf([{ name: 'a', command: '/bin/true' }], rows(3)), { runName: 'old' }));
        spawner.history!.flush();
        expect(query(db, 'SELECT count(*) AS n FROM harness_attempts')).toEqual([{ n: 3 }]);
        const report = await spawner.history!.cleanup({ olderThan: 1, now: Date.now() + 60_000, check: false });
        expect(report.batchesRemoved).toBe(3);
        expect(query(db, 'SELECT count(*) AS n FROM harness_attempts')).toEqual([{ n: 0 }]);
      });
    });
  });
});

describe('runHarness: stopping', () => {
  it('stop() kills running agents, leaves the rest not started, and no process behind', async () => {
    const tag = newTag();
    await withShared(async (spawner) => {
      const runs = runsOf(
        [{ name: 's', command: '/bin/sh', args: ['-c', 'echo up; exec sleep 30', 'sh', tag], ready: { stdout: '^up' }, killGraceMs: 200 }],
        rows(6),
      );
      const pids: number[] = [];
      let spawned = 0;
      let resolveTwo!: () => void;
      const two = new Promise<void>((r) => (resolveTwo = r));
      const harness = await runHarness(spawner, runs, {
        concurrency: 2,
        onSpawn: (o) => {
          if (o.pid !== undefined) pids.push(o.pid);
          if (++spawned === 2) resolveTwo();
        },
      });
      await two;
      harness.stop('now', 'test says stop');
      const { summary } = await drain(harness);
      expect(summary).toMatchObject({ interrupted: 2, notStarted: 4, succeeded: 0, halted: { by: 'stop', when: 'now', reason: 'test says stop' } });
      expect(await settleLeftovers({ tag, pids })).toEqual([]);
    });
  });

  it('an aborted signal stops it the same way', async () => {
    await withShared(async (spawner) => {
      const controller = new AbortController();
      controller.abort();
      const { attempts, summary } = await drain(
        await runHarness(spawner, runsOf([{ name: 'a', command: '/bin/true' }], rows(3)), { signal: controller.signal }),
      );
      expect(attempts).toEqual([]);
      expect(summary).toMatchObject({ notStarted: 3, halted: { by: 'signal', when: 'now' } });
      expect(await leftovers({ pids: [] })).toEqual([]);
    });
  });
});

describe('runHarness: results folders and dry runs', () => {
  it('writes one folder per agent run under resultsDir', async () => {
    await withTempDir(async (dir) => {
      await withShared(async (spawner) => {
        const out = path.join(dir, 'results');
        await drain(await runHarness(spawner, runsOf([{ name: 'say', command: '/bin/echo', args: ['hello {{task.id}}'] }], rows(2)), { resultsDir: out }));
        for (const id of ['t1', 't2']) {
          expect(await readFile(path.join(out, 'say', id, 'stdout'), 'utf8')).toBe(`hello ${id}\n`);
          expect(JSON.parse(await readFile(path.join(out, 'say', id, 'result.json'), 'utf8'))).toMatchObject({ name: `say/${id}`, ok: true, exitCode: 0 });
        }
      });
    });
  });

  it('a dry run builds every prompt, counts it, and spawns nothing', async () => {
    await withTempDir(async (dir) => {
      await mkdir(path.join(dir, 'ctx'));
      await writeFile(path.join(dir, 'ctx', 'a.txt'), 'context A');
      const marker = path.join(dir, 'ran');
      const runs = runsOf(
        [
          {
            name: 'w',
            command: '/bin/sh',
            args: ['-c', ': > "$1"', 'sh', marker],
            prompt: { template: 'Task {{task.id}}: {{contextText}}', context: ['ctx/a.txt'] },
            timeoutMs: 5000,
          },
        ],
        rows(3),
      );
      const plan = await dryRunHarness(runs, { root: dir, timeoutMs: 2000 });
      expect(plan).toMatchObject({ total: 3, toRun: 3, skipped: 0, agents: 1, tasks: 3 });
      expect(plan.runs[0]).toMatchObject({
        name: 'w/t1',
        commandLine: `/bin/sh -c ': > "$1"' sh ${marker}`,
        timeoutMs: 2000,
        promptVia: 'stdin',
        skip: undefined,
      });
      expect(plan.runs[0]!.prompt!.tokens).toBeGreaterThan(0);
      expect(plan.promptBytes).toBe(plan.runs.reduce((n, r) => n + r.prompt!.bytes, 0));
      expect(existsSync(marker)).toBe(false);
    });
  });
});
