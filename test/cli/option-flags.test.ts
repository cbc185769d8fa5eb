/**
 * The flags that set library options are checked by the library's own
 * checks: the same bad value gets the same message from `new Spawner()` or
 * `spawnBatch()` and from the flag, which the CLI names first (exit 2).
 * The CLI runs in this process: every case fails before a thread or an
 * agent starts.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { Spawner } from '../../src/index.ts';
import { loadAgentsFile } from '../../src/spec/load.ts';
import type { ResolvedAgent } from '../../src/spec/resolve.ts';
import { ROOT } from './run-cli.ts';

/** Four agents. */
const EXAMPLES = path.join(ROOT, 'examples', 'agents.json');

let spawner: Spawner;
let agents: ResolvedAgent[];

beforeAll(async () => {
  spawner = new Spawner({ workers: 1 });
  agents = (await loadAgentsFile(EXAMPLES)).agents;
});

afterAll(async () => {
  await spawner?.close();
});

function libraryMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ code: 'E_CONFIG' });
    return (error as Error).message;
  }
  throw new Error('the library accepted the value');
}

async function cliRun(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, stderr: write.mock.calls.map((call) => String(call[0])).join('') };
  } finally {
    write.mockRestore();
  }
}

describe('flags checked as the library checks its options', () => {
  it.each<[string, string[], () => unknown]>([
    ['workers', ['--workers', '0'], () => new Spawner({ workers: 0 })],
    ['workers', ['--workers', '2.5'], () => new Spawner({ workers: 2.5 })],
    ['workers', ['--workers', 'four'], () => new Spawner({ workers: 'four' as unknown as number })],
    ['ring-capacity', ['--ring-capacity', '0'], () => new Spawner({ ringCapacity: 0 })],
    // Checked where options meet, in new Spawner(): a power of two, and no smaller than the window.
    ['ring-capacity', ['--ring-capacity', '3000'], () => new Spawner({ ringCapacity: 3000 })],
    ['ring-capacity', ['--ring-capacity', '256'], () => new Spawner({ ringCapacity: 256 })],
    ['helpers', ['--helpers', '0'], () => new Spawner({ helpers: 0 })],
    ['helpers', ['--helpers', 'two'], () => new Spawner({ helpers: 'two' as unknown as number })],
    ['root', ['--root', ''], () => new Spawner({ root: '' })],
    ['concurrency', ['--concurrency', '0'], () => spawner.spawnBatch(agents, { concurrency: 0 })],
    ['concurrency', ['--concurrency=-3'], () => spawner.spawnBatch(agents, { concurrency: -3 })],
    ['min-success', ['--min-success=-1'], () => spawner.spawnBatch(agents, { minSuccess: -1 })],
    ['min-success', ['--min-success', '1.5'], () => spawner.spawnBatch(agents, { minSuccess: 1.5 })],
    ['min-success', ['--min-success', '5'], () => spawner.spawnBatch(agents, { minSuccess: 5 })],
  ])('--%s: %j', async (flag, args, library) => {
    const message = libraryMessage(library);
    const { code, stderr } = await cliRun(['run', EXAMPLES, '--no-db', ...args]);
    expect({ code, stderr }).toEqual({ code: 2, stderr: `spawnpool run: --${flag}: ${message}\n` });
  });

  it('names an unknown flag and the one meant, as the library names an unknown option', async () => {
    expect(await cliRun(['run', EXAMPLES, '--no-db', '--concurency', '2'])).toEqual({
      code: 2,
      stderr: 'spawnpool run: Unknown option `--concurency`: did you mean `--concurrency`?\n',
    });
    expect(await cliRun(['run', EXAMPLES, '--no-db', '--xyzzy'])).toEqual({
      code: 2,
      stderr: 'spawnpool run: Unknown option `--xyzzy`; --help lists the options\n',
    });
    expect(await cliRun(['stats', '--dbb', 'x'])).toEqual({ code: 2, stderr: 'spawnpool stats: Unknown option `--dbb`: did you mean `--db`?\n' });
    const { code, stderr } = await cliRun(['rnu', EXAMPLES]);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('spawnpool: unknown command "rnu": did you mean "run"?');
  });

  it('words the message in the library voice, the flag first', async () => {
    expect(await cliRun(['run', EXAMPLES, '--no-db', '--concurrency', '0'])).toEqual({
      code: 2,
      stderr: 'spawnpool run: --concurrency: Expected the `concurrency` option to be a positive integer, got `0`\n',
    });
  });

  it('checks them the same way for a harness run and for the worker, before anything starts', async () => {
    const message = libraryMessage(() => new Spawner({ workers: 0 }));
    expect(await cliRun(['run', EXAMPLES, '--no-db', '--dry-run', '--workers', '0'])).toEqual({
      code: 2,
      stderr: `spawnpool run: --workers: ${message}\n`,
    });
    // Before Redis is reached: nothing listens on port 1.
    expect(await cliRun(['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--no-db', '--workers', '0'])).toEqual({
      code: 2,
      stderr: `spawnpool worker: --workers: ${message}\n`,
    });
  });

  it('--min-success above the number of runs, for a harness run', async () => {
    expect(await cliRun(['run', EXAMPLES, '--no-db', '--dry-run', '--min-success', '5'])).toEqual({
      code: 2,
      stderr: 'spawnpool run: --min-success: Expected the `minSuccess` option to be an integer from 0 to 4 (the number of runs), got `5`\n',
    });
  });
});
