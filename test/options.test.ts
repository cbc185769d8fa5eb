/** Options objects are checked once, declaratively: typos and wrong types are errors that name the option. */
import { describe, expect, it } from 'vitest';
import { Spawner } from '../src/index.ts';
import { closest } from '../src/options/parse-options.ts';
import { withSpawner } from './support/fixtures.ts';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('library options', () => {
  it.each([
    [{ wrokers: 2 }, 'Unknown option `wrokers` in new Spawner(): did you mean `workers`?'],
    [{ concurency: 4 }, 'Unknown option `concurency` in new Spawner(): did you mean `concurrency`?'],
    [{ workers: 0 }, 'Expected the `workers` option to be a positive integer, got `0`'],
    [{ workerNice: 25 }, 'Expected the `workerNice` option to be an integer from 0 to 19, got `25`'],
  ])('new Spawner(%o) is a ConfigError: %s', (options, message) => {
    expect(thrown(() => new Spawner(options as never))).toMatchObject({ code: 'E_CONFIG', message });
  });

  it('lists the options when a key is nothing like any of them', () => {
    expect(thrown(() => new Spawner({ xyzzy: 1 } as never))).toMatchObject({
      message: expect.stringMatching(/^Unknown option `xyzzy` in new Spawner\(\); the options are `workers`, /),
    });
  });

  it('checks spawnBatch() options the same way, and starts nothing', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const agents = [{ name: 'a', command: 'true' }];
      expect(thrown(() => spawner.spawnBatch(agents, { minSucess: 1 } as never))).toMatchObject({
        code: 'E_CONFIG',
        message: 'Unknown option `minSucess` in spawnBatch(): did you mean `minSuccess`?',
      });
      expect(thrown(() => spawner.spawnBatch(agents, { mode: 'parallel' } as never))).toMatchObject({
        message: 'Expected the `mode` option to be "concurrent" or "sequential", got `parallel`',
      });
      expect(spawner.metrics.snapshot().written).toBe(0);
    });
  });

  it('suggests only near names', () => {
    expect(closest('stram', ['stream', 'signal'])).toBe('stream');
    expect(closest('timeout', ['stream', 'signal'])).toBeUndefined();
    // Two letters swapped are one edit.
    expect(closest('agnet', ['agent', 'args'])).toBe('agent');
    expect(closest('wrokers', ['workers'])).toBe('workers');
  });
});
