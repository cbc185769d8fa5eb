/** The scenarios' spawners: the bench's --launcher choice applied, and the launch path recorded. */
import { AUTO_HELPER_RSS_BYTES, AutoLauncher, Spawner, type SpawnerOptions } from '../../src/index.ts';
// How the Spawner reads its `launcher` option and SPAWNPOOL_LAUNCHER: internal to the library.
import { type LauncherName, resolveLauncherChoice } from '../../src/launch/select-launcher.ts';
import type { ScenarioContext } from './types.ts';

/** A spawner with the run's launcher choice; the caller awaits `ready` and closes it. */
export function benchSpawner(ctx: ScenarioContext, options: SpawnerOptions = {}): Spawner {
  return new Spawner({ ...options, ...(ctx.launcher === undefined ? {} : { launcher: ctx.launcher }) });
}

/** Where agents were forked from: 'direct' (this process) or 'helper' (a helper process). */
export type LaunchPath = 'direct' | 'helper';

/**
 * Records the launch path at the start of a scenario; `params()` at its end
 * adds the path then. The 'auto' launcher decides at every launch from the
 * host's RSS and does not say which way it went, so the probe asks its rule
 * (AutoLauncher.pathFor) about the RSS.
 */
export function launchProbe(ctx: ScenarioContext): { path(): LaunchPath; params(): Record<string, string> } {
  // A launcher name in, a name out: never an instance.
  const { name } = resolveLauncherChoice(ctx.launcher, undefined) as { name: LauncherName };
  const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);
  const pathNow = (): LaunchPath => (name !== 'auto' ? name : AutoLauncher.pathFor(process.memoryUsage.rss()));
  const startRss = rssMb();
  const startPath = pathNow();
  return {
    path: pathNow,
    params() {
      const endPath = pathNow();
      return {
        launcher: ctx.launcher ?? `default (${name})`,
        hostRssMb: `${startRss} at start, ${rssMb()} at end (helper threshold ${AUTO_HELPER_RSS_BYTES / 2 ** 20})`,
        launchPath: startPath === endPath ? startPath : `${startPath}, then ${endPath}`,
      };
    },
  };
}
