import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../support/fixtures.ts';
import { cli } from './run-cli.ts';

describe('spawnpool run', () => {
  it('prints the per-agent table, the summary and the window, and exits 1 when an agent fails without --min-success', async () => {
    const { code, stdout } = await cli(['run', 'examples/agents.json']);
    expect(code).toBe(1);
    for (const column of ['queue ms', 'build ms', 'launch ms', 'spawn ms', 'pid']) expect(stdout).toContain(column);
    expect(stdout).toMatch(/^summarizer\s+succeeded\s+\d+/m);
    expect(stdout).toMatch(/^flaky\s+failed:run/m);
    expect(stdout).toMatch(/batch \d+: 4\/4 spawned .* 3\/4 succeeded \(exited 0; need 4\)/);
    expect(stdout).toMatch(/window .* p95 n\/a/);
    expect(stdout).toContain('flaky: [E_EXIT] Agent "flaky" exited with code 3');
  });

  it('--sequential --json prints one object with batch, agents and window', async () => {
    const { code, stdout } = await cli(['run', 'examples/agents.json', '--sequential', '--json', '--min-success', '3']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      options: { mode: string; minSuccess: number };
      batch: { total: number; succeeded: number; ok: boolean };
      agents: { name: string; timings: Record<string, number> }[];
      window: { count: number; written: number };
    };
    expect(report.options).toMatchObject({ mode: 'sequential', minSuccess: 3 });
    expect(report.batch).toMatchObject({ total: 4, succeeded: 3, ok: true });
    expect(report.agents.map((a) => a.name)).toEqual(['summarizer', 'reviewer', 'planner', 'flaky']);
    for (const a of report.agents) expect(Object.keys(a.timings).sort()).toEqual(['buildMs', 'launchMs', 'queueMs', 'sinceBatchStartMs', 'spawnMs']);
    expect(report.window.count).toBe(4);
    // 4 BUILD + 4 SPAWN + 4 EXIT records.
    expect(report.window.written).toBe(12);
  });

  it('--json gives an agent the OS would not start its error code and the OS error', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'agents.json');
      await writeFile(file, JSON.stringify({ agents: [{ name: 'gone', command: path.join(dir, 'no-such-agent') }] }));
      const { code, stdout } = await cli(['run', file, '--json', '--no-db']);
      expect(code).toBe(1);
      const report = JSON.parse(stdout) as { agents: { name: string; error: unknown }[] };
      expect(report.agents[0]?.error).toEqual({ code: 'E_ENOENT', message: expect.stringContaining('command not found'), errno: 'ENOENT' });
    });
  });

  it('exits 2 with a message naming the flag for bad usage', async () => {
    expect(await cli(['run'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected exactly one agents file') });
    expect(await cli(['run', 'examples/agents.json', '--concurrency', '0'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--concurrency') });
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await cli(['run', 'examples/agents.json', '--launcher', 'forking'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Expected --launcher to be direct, helper or auto, got "forking"'),
    });
    expect(await cli(['run', 'examples/agents.json', '--launcher', 'direct', '--helpers', '2'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--helpers applies to --launcher helper or auto'),
    });
  });

  it('--launcher picks who forks the agents: this process (direct) or a helper', async () => {
    await withTempDir(async (dir) => {
      // The agent records its parent's command line: the CLI itself, or the launch helper.
      const parentOf = async (launcher: string) => {
        const out = path.join(dir, `parent-${launcher}`);
        const file = path.join(dir, `agents-${launcher}.json`);
        await writeFile(file, JSON.stringify({ agents: [{ name: 'who', command: 'sh', args: ['-c', `tr '\\0' ' ' < /proc/$PPID/cmdline > '${out}'`] }] }));
        const { code, stderr } = await cli(['run', file, '--launcher', launcher, ...(launcher === 'helper' ? ['--helpers', '2'] : [])]);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        return readFile(out, 'utf8');
      };
      expect(await parentOf('direct')).toContain('dist/src/cli/main.js');
      expect(await parentOf('helper')).toContain('launch-helper');
    });
  });
});
