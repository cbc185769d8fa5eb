/**
 * Picks, for each launch, the direct launcher while the host is small and
 * the helper launcher once it is big: a direct spawn forks the host, and
 * its cost grows with the host's resident memory, while a helper spawn
 * costs a hop over a socket plus a fork of the small helper.
 */
import { DirectLauncher } from './direct-launcher.ts';
import { checkHelpers, HelperLauncher } from './helper/helper-launcher.ts';
import type { LaunchEvents, LaunchHandle, Launcher, LaunchRequest } from './types.ts';

/**
 * Host RSS above which 'auto' launches through the helper. Chosen by
 * measurement (bench/helper-launcher.ts, crossover section): see the
 * measured table in bench/results/helper-launcher.md.
 */
export const AUTO_HELPER_RSS_BYTES = 256 * 1024 * 1024;

export interface AutoLauncherOptions {
  /** Host RSS (bytes) from which agents go through the helper. Default {@link AUTO_HELPER_RSS_BYTES}. */
  thresholdBytes?: number;
  /** Helper processes, once the helper is used. Default DEFAULT_HELPERS (one per core, at most 4). */
  helpers?: number;
}

/**
 * The default launcher: direct below the RSS threshold, helper above it.
 * Reading the RSS is cheap (one read of /proc/self/stat), so the choice is
 * made at every launch and follows a host that grows or shrinks.
 *
 * @example
 * new Spawner({ launcher: new AutoLauncher({ thresholdBytes: 512 * 2 ** 20 }) });
 */
export class AutoLauncher implements Launcher {
  readonly #threshold: number;
  readonly #helpers: number | undefined;
  readonly #direct = new DirectLauncher();
  // Created on the first launch above the threshold.
  #helper: HelperLauncher | undefined;

  constructor(options: AutoLauncherOptions = {}) {
    this.#threshold = options.thresholdBytes ?? AUTO_HELPER_RSS_BYTES;
    this.#helpers = options.helpers === undefined ? undefined : checkHelpers(options.helpers);
  }

  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    if (process.memoryUsage.rss() < this.#threshold) return this.#direct.launch(request, events);
    this.#helper ??= new HelperLauncher({ helpers: this.#helpers });
    return this.#helper.launch(request, events);
  }

  async close(): Promise<void> {
    await Promise.all([this.#direct.close(), this.#helper?.close()]);
  }
}
