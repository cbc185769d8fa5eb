/**
 * `spawnpool run` with harness flags, as a user runs it (a child process,
 * not a TTY): --version, bad flags and bad task files (exit 2, nothing
 * started), a run's report and its one summary line, --json, --dry-run,
 * named runs, --halt, exit codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './run-cli.ts';

let dir: string;
let agentsFile: string;
let tasksFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-harness-cli-'));
  agentsFile = path.join(dir, 'agents.json');
  tasksFile = path.join(dir, 'tasks.jsonl');
  await writeFile(
    agentsFile,
    JSON.stringify({
      agents: [
        { name: 'say', command: '/bin/echo', args: ['{{task.id}} {{task.file}}'] },
        { name: 'code', command: '/bin/sh', args: ['-c', 'exit "$1"', 'sh', '{{task.code}}'], prompt: { template: 'Fix {{task.file}}' } },
      ],
    }),
  );
  await writeFile(tasksFile, ['{"id":"a","file":"x.ts","code":0}', '{"id":"b","file":"y.ts","code":0}', '{"id":"c","file":"z.ts","code":0}', ''].join('\n'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const db = (name: string) => path.join(dir, `${name}.db`);

describe('spawnpool --version', () => {
  it('prints the version from package.json, as --version and -V', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `spawnpool ${version}\n` });
    }
  });
});

describe('spawnpool run --tasks: bad input exits 2 and starts nothing', () => {
  it.each([
    [['--retries', 'two'], /--retries/],
    [['--retries', '1', '--retry-on', 'sometimes'], /--retry-on.*"sometimes"/],
    [['--retries', '1', '--retry-on', 'timeout,spwan'], /--retry-on.*got "spwan" in "timeout,spwan": did you mean "spawn"\?/],
    [['--retry-delay', '1s'], /--retry-delay applies to --retries/],
    [['--rate-limit', '60'], /--rate-limit to be \[AGENT=\]N\/T/],
    [['--rate-limit', '60/1'], /--rate-limit to be a positive duration with a unit/],
    [['--timeout', '30'], /--timeout to be a duration with a unit/],
    [['--halt', 'soon,fail'], /--halt/],
    [['--resume'], /--resume needs --run-name/],
    [['--run-name', '9lives'], /--run-name/],
    [['--run-name', 'r', '--no-db'], /--run-name.*--no-db/],
    [['--sequential'], /--sequential does not go with the harness flags/],
  ])('%j', async (flags, message) => {
    const file = db(`bad-${flags.join('')}`.replace(/[^a-z0-9]/gi, ''));
    const r = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', file, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(file)).toBe(false);
  });

  it('names the file and line of a malformed task', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id":"a","file":"x","code":0}\n\n{"id":"b", file: y}\n');
    const file = db('malformed');
    const r = await cli(['run', agentsFile, '--tasks', bad, '--db', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3: not valid JSON`);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a task that lacks a field the agent needs, naming the task line and the field', async () => {
    const short = path.join(dir, 'short.jsonl');
    await writeFile(short, '{"id":"a","file":"x","code":0}\n{"id":"b","code":0}\n');
    const file = db('short');
    const r = await cli(['run', agentsFile, '--tasks', short, '--db', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${short}:2: task "b"`);
    expect(r.stderr).toContain('{{task.file}} names no field of the task (its fields: id, code)');
    expect(existsSync(file)).toBe(false);
  });
});

describe('spawnpool run --tasks', () => {
  it('runs every agent per task, prints per-agent counts and stages, and one summary line on stderr', async () => {
    const r = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', db('plain'), '--output', 'none']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^agent\s+runs\s+succeeded\s+failed\s+attempts/m);
    expect(r.stdout).toMatch(/^say\s+3\s+3\s+0\s+3/m);
    expect(r.stdout).toMatch(/^code\s+3\s+3\s+0\s+3/m);
    expect(r.stdout).toMatch(/stages, ms .*wait .* queue .* build .* launch .* spawn .* run /);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^harness: 6 runs: 6 succeeded, 0 failed; 6 attempts; wall .*, [\d.]+ runs\/s$/);
  });

  it('--json gives the summary, every run and the per-agent figures; exit 1 when a run failed, 0 with --min-success', async () => {
    const failing = path.join(dir, 'failing.jsonl');
    await writeFile(failing, '{"id":"a","file":"x","code":0}\n{"id":"b","file":"y","code":4}\n');
    const r = await cli(['run', agentsFile, '--tasks', failing, '--db', db('json'), '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      summary: { total: number; succeeded: number; failed: number; runs: { name: string; status: string; exitCode: number }[] };
      agents: { agent: string; runs: number }[];
      runId: string;
    };
    expect(out.summary).toMatchObject({ total: 4, succeeded: 3, failed: 1 });
    expect(out.summary.runs.find((x) => x.name === 'code/b')).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(out.agents.map((a) => [a.agent, a.runs]).sort()).toEqual([
      ['code', 2],
      ['say', 2],
    ]);
    const ok = await cli(['run', agentsFile, '--tasks', failing, '--db', db('json2'), '--json', '--min-success', '3']);
    expect(ok.code).toBe(0);
  });

  it("prints the agents' output grouped, per run", async () => {
    const r = await cli(['run', agentsFile, '--tasks', tasksFile, '--no-db']);
    expect(r.code).toBe(0);
    for (const [id, file] of [
      ['a', 'x.ts'],
      ['b', 'y.ts'],
      ['c', 'z.ts'],
    ])
      expect(r.stdout).toMatch(new RegExp(`^\\[say/${id}\\]\\s+${id} ${file}$`, 'm'));
  });

  it('--dry-run prints each command with its prompt size and tokens, the counts, and spawns nothing', async () => {
    const marker = path.join(dir, 'dry-ran');
    const agents = path.join(dir, 'dry-agents.json');
    await writeFile(
      agents,
      JSON.stringify({
        agents: [{ name: 'touch', command: '/bin/sh', args: ['-c', ': > "$1"', 'sh', `${marker}-{{task.id}}`], prompt: { template: 'Review {{task.file}}' } }],
      }),
    );
    const file = db('dry');
    const r = await cli(['run', agents, '--tasks', tasksFile, '--dry-run', '--db', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run: 1 agent x 3 tasks = 3 runs; 3 to run; nothing was spawned');
    expect(r.stdout).toMatch(/prompts to send: 33 bytes, \d+ tokens in all/);
    expect(r.stdout).toContain(`touch/a: /bin/sh -c ': > "$1"' sh ${marker}-a  [prompt 11 B,`);
    expect(existsSync(`${marker}-a`)).toBe(false);
    expect(existsSync(file)).toBe(false);
    const json = JSON.parse((await cli(['run', agents, '--tasks', tasksFile, '--dry-run', '--json', '--no-db'])).stdout) as {
      total: number;
      runs: { prompt: { bytes: number } }[];
    };
    expect(json.total).toBe(3);
    expect(json.runs[0]!.prompt.bytes).toBe(11);
  });

  it('--run-name: a second run of the same name is refused; --resume skips what is done; --dry-run --resume shows it', async () => {
    const file = db('named');
    const first = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', file, '--run-name', 'eval-1', '--output', 'none']);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/^run "eval-1": 6 runs: 6 succeeded/m);
    const again = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', file, '--run-name', 'eval-1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('run "eval-1" already has 6 attempts in the history: resume it (CLI: --resume');
    const dry = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', file, '--run-name', 'eval-1', '--resume', '--dry-run']);
    expect(dry.stdout).toContain('= 6 runs; 0 to run, 6 skipped (already in run "eval-1")');
    const resumed = await cli(['run', agentsFile, '--tasks', tasksFile, '--db', file, '--run-name', 'eval-1', '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/6 runs: 0 succeeded, 0 failed, 6 skipped \(6 succeeded before\); 0 attempts/);
  });

  it('--halt now,fail=1 stops at the first failure, kills the rest, exits 1', async () => {
    const agents = path.join(dir, 'halt-agents.json');
    await writeFile(
      agents,
      JSON.stringify({
        agents: [{ name: 'h', command: '/bin/sh', args: ['-c', 'if [ "$1" = b ]; then exit 9; fi; exec sleep 30', 'sh', '{{task.id}}'], killGraceMs: 200 }],
      }),
    );
    const started = Date.now();
    const r = await cli(['run', agents, '--tasks', tasksFile, '--no-db', '--halt', 'now,fail=1', '--concurrency', '3', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { summary: { failed: number; interrupted: number; halted: { by: string; when: string } } };
    expect(out.summary).toMatchObject({ failed: 1, interrupted: 2, halted: { by: 'fail', when: 'now' } });
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
