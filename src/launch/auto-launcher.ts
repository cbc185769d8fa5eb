/**
 * Picks, for each launch, the direct launcher while the host is small and
 * the helper launcher once it is big: a direct spawn forks the host, and
 * its cost grows with the host's resident memory, while a helper spawn
 * costs a hop over a socket plus a fork of the small helper.
 */
import { DirectLauncher } from './direct-launcher.ts';
import { HelperLauncher } from './helper/helper-launcher.ts';
import type { LaunchEvents, LaunchHandle, Launcher, LaunchRequest } from './types.ts';

/**
 * Host RSS from which 'auto' launches through the helper: 128 MiB. Chosen by
 * measurement (bench/helper-launcher.ts, crossover section, 2 cores): for 8
 * launches at once the helper's p50 was already 0.83–0.97x of direct at the
 * smallest hosts measurable from source (116–145 MB, a bare tsx process;
 * three runs), and 0.4–0.5x at 400–500 MB; a single launch cost the same
 * both ways at ~115 MB (transport section). Below this size the host is no bigger than a
 * helper (60–100 MB), so forking it directly costs no more and saves a process.
 */
export const AUTO_HELPER_RSS_BYTES = 128 * 1024 * 1024;

/** Options of {@link AutoLauncher}. */
export interface AutoLauncherOptions {
  /**
   * Host RSS (bytes) from which agents go through the helper.
   * @default AUTO_HELPER_RSS_BYTES (128 MiB)
   */
  thresholdBytes?: number;
  /**
   * Helper processes, once the helper is used.
   * @default 1
   */
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
  readonly #direct = new DirectLauncher();
  // Starts no process before its first launch or warm-up: a host that stays small never pays for one.
  readonly #helper: HelperLauncher;

  /** Starts nothing: the helper starts at the first launch (or warm-up) over the threshold. */
  constructor(options: AutoLauncherOptions = {}) {
    this.#threshold = options.thresholdBytes ?? AUTO_HELPER_RSS_BYTES;
    this.#helper = new HelperLauncher({ helpers: options.helpers });
  }

  /**
   * Which launcher 'auto' takes for a host of `rssBytes` resident memory: the
   * one rule behind every launch and warm-up.
   *
   * @example
   * AutoLauncher.pathFor(process.memoryUsage.rss()); // 'direct' in a small host, 'helper' in a big one
   */
  static pathFor(rssBytes: number, thresholdBytes: number = AUTO_HELPER_RSS_BYTES): 'direct' | 'helper' {
    return rssBytes < thresholdBytes ? 'direct' : 'helper';
  }

  /** Pids of the helper processes now running; empty while every launch has been direct. */
  get helperPids(): number[] {
    return this.#helper.pids;
  }

  /** Launches directly, or through the helper when the host's RSS is at or over the threshold now. */
  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    const launcher = AutoLauncher.pathFor(process.memoryUsage.rss(), this.#threshold) === 'direct' ? this.#direct : this.#helper;
    return launcher.launch(request, events);
  }

  /** Starts the helper if the host is over the threshold now; a host under it may never need one. */
  async warmUp(): Promise<void> {
    if (AutoLauncher.pathFor(process.memoryUsage.rss(), this.#threshold) === 'helper') await this.#helper.warmUp();
  }

  /** Closes both launchers: every agent still running is stopped, the helpers exit. */
  async close(): Promise<void> {
    await Promise.all([this.#direct.close(), this.#helper.close()]);
  }
}
