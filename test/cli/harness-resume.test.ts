/**
 * Resume after a real interruption: `spawnpool run --tasks ... --run-name`
 * started as a child process, stopped mid-run by SIGINT (as Ctrl-C) or
 * killed by SIGKILL (a crash), then run again with --resume. Counted in the
 * history database itself: every task has exactly one run that exited 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTag, settleLeftovers } from '../reliability/helpers.ts';
import { cli, CLI, ROOT } from './run-cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Reads the history with a connection of its own (the run may still be writing). */
function read<T>(db: string, sql: string): T[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(sql).all() as T[];
  } finally {
    conn.close();
  }
}

/** Attempts of the run recorded so far (0 while the file or the table does not exist yet). */
function attemptsSoFar(db: string, run: string): number {
  try {
    return read<{ n: number }>(db, `SELECT count(*) AS n FROM harness_attempts WHERE run_name = '${run}'`)[0]!.n;
  } catch {
    return 0;
  }
}

async function setUp(name: string, tasks: number, tag: string): Promise<{ agents: string; tasksFile: string; db: string }> {
  const agents = path.join(dir, `${name}-agents.json`);
  const tasksFile = path.join(dir, `${name}-tasks.jsonl`);
  // A short agent (a few ms of sh), tagged so /proc shows any left behind.
  await writeFile(agents, JSON.stringify({ agents: [{ name: 'work', command: '/bin/sh', args: ['-c', 'sleep 0.01', 'sh', tag, '{{task.id}}'] }] }));
  await writeFile(tasksFile, `${Array.from({ length: tasks }, (_, i) => JSON.stringify({ id: `t${String(i + 1).padStart(4, '0')}` })).join('\n')}\n`);
  return { agents, tasksFile, db: path.join(dir, `${name}.db`) };
}

/** Starts the run, waits until `after` attempts are recorded, then sends `signal`. */
async function interrupt(
  args: string[],
  db: string,
  run: string,
  after: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const deadline = Date.now() + 120_000;
    while (attemptsSoFar(db, run) < after) {
      if (child.exitCode !== null) throw new Error(`the run ended before it could be interrupted: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`fewer than ${after} attempts recorded after 120 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill(signal);
    const [code, sig] = await exited;
    return { code, signal: sig, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Per task: how many of its agent_runs rows exited 0, over the whole history (not only the rows the run links). */
function successesPerTask(db: string): Map<string, number> {
  const rows = read<{ agent: string; ok: number }>(db, "SELECT agent, sum(ok) AS ok FROM agent_runs WHERE agent LIKE 'work/%' GROUP BY agent");
  return new Map(rows.map((r) => [r.agent, r.ok]));
}

describe('--resume after an interrupted run', () => {
  it('Ctrl-C during a 1,000-run job exits 130 with the run recorded; --resume then runs each task exactly once successfully', async () => {
    const tag = newTag();
    const { agents, tasksFile, db } = await setUp('sigint', 1000, tag);
    const args = ['run', agents, '--tasks', tasksFile, '--db', db, '--run-name', 'big', '--concurrency', '16', '--output', 'none'];

    const first = await interrupt(args, db, 'big', 200, 'SIGINT');
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/^run "big": 1000 runs: \d+ succeeded, 0 failed, \d+ interrupted, \d+ not started/m);
    expect(await settleLeftovers({ tag })).toEqual([]);
    const before = successesPerTask(db);
    const done = [...before.values()].filter((n) => n === 1).length;
    // Mid-run: some done, not all; and some attempts were cut short (recorded, as aborted).
    expect(done).toBeGreaterThanOrEqual(150);
    expect(done).toBeLessThan(1000);
    expect(read<{ n: number }>(db, "SELECT count(*) AS n FROM agent_runs WHERE agent LIKE 'work/%' AND stage = 'aborted'")[0]!.n).toBeGreaterThan(0);

    const resumed = await cli([...args, '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(
      new RegExp(`^run "big": 1000 runs: ${1000 - done} succeeded, 0 failed, ${done} skipped \\(${done} succeeded before\\)`, 'm'),
    );

    const after = successesPerTask(db);
    expect(after.size).toBe(1000);
    expect([...after.values()].every((n) => n === 1)).toBe(true);
    // Runs cut short were attempted again under the next attempt number.
    const renumbered = read<{ n: number }>(db, "SELECT count(*) AS n FROM harness_attempts WHERE run_name = 'big' AND attempt = 2")[0]!.n;
    expect(renumbered).toBeGreaterThan(0);
  });

  it('after a crash (SIGKILL) too: --resume leaves each task exactly once successful in the history', async () => {
    const tag = newTag();
    const { agents, tasksFile, db } = await setUp('crash', 300, tag);
    const args = ['run', agents, '--tasks', tasksFile, '--db', db, '--run-name', 'crashy', '--concurrency', '16', '--output', 'none'];
    const first = await interrupt(args, db, 'crashy', 100, 'SIGKILL');
    expect(first.signal).toBe('SIGKILL');
    // The host is gone: its watchdog or helper kills what it had started.
    expect(await settleLeftovers({ tag })).toEqual([]);
    // Killed mid-run: some tasks done, not all.
    const done = [...successesPerTask(db).values()].filter((n) => n === 1).length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(300);
    const resumed = await cli([...args, '--resume']);
    expect(resumed.code).toBe(0);
    const after = successesPerTask(db);
    expect(after.size).toBe(300);
    expect([...after.values()].every((n) => n === 1)).toBe(true);
  });
});
