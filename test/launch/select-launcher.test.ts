import { describe, expect, it } from 'vitest';
import { Spawner, type SpawnOutcome } from '../../src/index.ts';
import { AutoLauncher } from '../../src/launch/auto-launcher.ts';
import { DirectLauncher } from '../../src/launch/direct-launcher.ts';
import { resolveLauncherChoice } from '../../src/launch/select-launcher.ts';
import { withSpawner } from '../support/fixtures.ts';
import { parentOf } from '../support/procfs.ts';

describe('the launcher option', () => {
  it.each([
    [{ launcher: 'fork' as never }, /Expected the `launcher` option to be "direct", "helper", "auto" or a Launcher, got `fork`/],
    [{ launcher: 'helper' as const, helpers: 0 }, /Expected the `helpers` option to be a positive integer, got `0`/],
    [{ launcher: 'auto' as const, helpers: 1.5 }, /Expected the `helpers` option to be a positive integer, got `1.5`/],
    [{ launcher: 'direct' as const, helpers: 2 }, /`helpers` option applies to launcher "helper" or "auto", not "direct"/],
    [{ launcher: new DirectLauncher(), helpers: 2 }, /not to a Launcher instance/],
  ])('rejects %o with a ConfigError naming the option', (options, message) => {
    let error: unknown;
    try {
      new Spawner({ workers: 1, ...options });
    } catch (caught) {
      error = caught;
    }
    // Undefined (nothing thrown) fails here too.
    expect(error).toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(message) });
  });

  it('keeps accepting a Launcher instance', () => {
    const launcher = new DirectLauncher();
    expect(resolveLauncherChoice(launcher, undefined)).toEqual({ instance: launcher });
  });

  it('defaults to SPAWNPOOL_LAUNCHER when set, and rejects a bad value', () => {
    const saved = process.env.SPAWNPOOL_LAUNCHER;
    try {
      process.env.SPAWNPOOL_LAUNCHER = 'direct';
      expect(resolveLauncherChoice(undefined, undefined)).toEqual({ name: 'direct', helpers: undefined });
      process.env.SPAWNPOOL_LAUNCHER = 'forking';
      expect(() => resolveLauncherChoice(undefined, undefined)).toThrow(/SPAWNPOOL_LAUNCHER environment variable .* got `forking`/);
      delete process.env.SPAWNPOOL_LAUNCHER;
      expect(resolveLauncherChoice(undefined, undefined)).toEqual({ name: 'auto', helpers: undefined });
    } finally {
      if (saved === undefined) delete process.env.SPAWNPOOL_LAUNCHER;
      else process.env.SPAWNPOOL_LAUNCHER = saved;
    }
  });
});

describe('AutoLauncher', () => {
  it.each([
    ['the helper above the threshold', 0, 'helper'],
    ['the host below it', Number.POSITIVE_INFINITY, 'host'],
  ])('forks from %s', async (_, thresholdBytes, forker) => {
    await withSpawner({ workers: 1, launcher: new AutoLauncher({ thresholdBytes }) }, async (spawner) => {
      const outcomes: SpawnOutcome[] = [];
      for await (const o of spawner.spawnBatch([{ name: 's', command: 'sleep', args: ['300'] }])) outcomes.push(o);
      const parent = parentOf(outcomes[0]!.pid!);
      expect(parent === process.pid ? 'host' : 'helper').toBe(forker);
    });
  });
});
