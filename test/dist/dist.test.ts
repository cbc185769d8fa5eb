/**
 * The published package runs from dist/ with plain node: no tsx, no vitest.
 * `npm test` builds dist/ before running vitest.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = `${ROOT}dist/src/index.js`;

describe('built dist/ with plain node', () => {
  it('is there: npm test (and npm ci, through prepare) builds it first', () => {
    expect(existsSync(DIST), `${DIST} is missing: run npm run build`).toBe(true);
  });

  it.each(['direct', 'helper'])('builds prompts on dist workers and spawns agents from the dist launch thread (launcher %s)', async (launcher) => {
    const script = `
      import { Spawner } from ${JSON.stringify(DIST)};
      const spawner = new Spawner({ workers: 1, launcher: ${JSON.stringify(launcher)}, root: ${JSON.stringify(`${ROOT}examples`)} });
      const batch = spawner.spawnBatch([{ name: 'hasher', command: process.execPath, args: [${JSON.stringify(`${ROOT}test/fixtures/agents/echo-sha256.mjs`)}], prompt: { template: 'hi {{agent}}', context: ['context/style.md'] } }]);
      const outcomes = [];
      for await (const o of batch) outcomes.push(o);
      const [result] = await batch.results;
      console.log(JSON.stringify({ ok: result.ok, sha: outcomes[0].prompt.sha256, echoed: result.stdout.trim().split(' ')[0], thread: outcomes[0].prompt.builtOnThread, execArgv: process.execArgv }));
      await spawner.close();
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    const report = JSON.parse(stdout) as { ok: boolean; sha: string; echoed: string; thread: number; execArgv: string[] };
    expect(report.ok).toBe(true);
    expect(report.echoed).toBe(report.sha);
    expect(report.thread).toBeGreaterThan(0);
    // Plain node: no TypeScript loader anywhere in the process.
    expect(report.execArgv.join(' ')).not.toMatch(/tsx|--import|--loader/);
  });

  it('runs the CLI through bin/spawnpool.js', async () => {
    const { stdout } = await run(process.execPath, [`${ROOT}bin/spawnpool.js`, 'run', `${ROOT}examples/agents.json`, '--json', '--min-success', '3'], {
      cwd: ROOT,
    });
    const report = JSON.parse(stdout) as { batch: { total: number; succeeded: number }; agents: { name: string; ok: boolean }[] };
    expect([report.batch.total, report.batch.succeeded]).toEqual([4, 3]);
    expect(
      report.agents
        .filter((a) => a.ok)
        .map((a) => a.name)
        .sort(),
    ).toEqual(['planner', 'reviewer', 'summarizer']);
  });
});
