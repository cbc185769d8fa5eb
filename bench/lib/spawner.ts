/** The scenarios' spawners: the bench's --launcher choice applied, and the launch path recorded. */
import { AUTO_HELPER_RSS_BYTES } from '../../src/index.ts';
import { Spawner, type SpawnerOptions } from '../../src/spawner.ts';
import type { ScenarioContext } from './types.ts';

/** A spawner with the run's launcher choice; the caller awaits `ready` and closes it. */
export function benchSpawner(ctx: ScenarioContext, options: SpawnerOptions = {}): Spawner {
  return new Spawner({ ...options, ...(ctx.launcher === undefined ? {} : { launcher: ctx.launcher }) });
}

/** Where agents were forked from: 'direct' (this process) or 'helper' (a helper process). */
export type LaunchPath = 'direct' | 'helper';

/**
 * Records the launch path at the start of a scenario; `params()` at its end
 * adds the path then. The default ('auto') launcher forks from this process
 * while its RSS is under AUTO_HELPER_RSS_BYTES and from a helper above it,
 * deciding at every launch, so the RSS says which path was taken.
 */
export function launchProbe(ctx: ScenarioContext): { path(): LaunchPath; params(): Record<string, string> } {
  const choice = ctx.launcher ?? (process.env.SPAWNPOOL_LAUNCHER || 'auto');
  const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);
  const pathNow = (): LaunchPath =>
    choice === 'direct' ? 'direct' : choice === 'helper' || process.memoryUsage.rss() >= AUTO_HELPER_RSS_BYTES ? 'helper' : 'direct';
  const startRss = rssMb();
  const startPath = pathNow();
  return {
    path: pathNow,
    params() {
      const endPath = pathNow();
      return {
        launcher: ctx.launcher ?? `default (${choice})`,
        hostRssMb: `${startRss} at start, ${rssMb()} at end (helper threshold ${AUTO_HELPER_RSS_BYTES / 2 ** 20})`,
        launchPath: startPath === endPath ? startPath : `${startPath}, then ${endPath}`,
      };
    },
  };
}
