/**
 * Launches agents through helper processes, so the host's main thread never
 * forks: on Linux a fork's cost grows with the forking process's memory, and
 * it is paid synchronously on the calling thread.
 */
import { ConfigError } from '../../errors.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, Launcher, LaunchRequest } from '../types.ts';
import { helperCommand, type HelperCommand } from './helper-command.ts';
import { HelperProcess } from './helper-process.ts';
import { notStartedExit } from '../not-started.ts';

/**
 * The default helper count: 1. Measured on 2 cores (bench/helper-launcher.ts,
 * two full runs): in the fan-out (2,000 × /bin/true, 64 in flight) 1, 2 and
 * 4 helpers launched 85 / 87 / 75 and 77 / 94 / 90 agents/s; for bursts of
 * 8, 2 helpers lowered p95 by 10–25%. A gain within run-to-run spread, paid
 * with a second process and a second start, which forks the host (~100 ms
 * on the main thread of a 4 GB host) in the middle of a burst. Where cores
 * are free, raise `helpers` (and call `warmUp()` while the host is small).
 */
export const DEFAULT_HELPERS = 1;

/** Options of {@link HelperLauncher}. */
export interface HelperLauncherOptions {
  /**
   * Helper processes to spread launches over. A helper forks on one core at
   * a time, so more helpers can raise the launch rate when cores are free
   * (on 2 busy cores they did not: see {@link DEFAULT_HELPERS}). Extra helpers
   * start only when every running one has a fork queued.
   * @default 1
   */
  helpers?: number;
  /** @internal Entry module of the helper (tests start stand-ins). */
  entry?: URL;
  /** @internal How long a helper may take to start before it is killed (tests shorten it). */
  startTimeoutMs?: number;
}

/**
 * A {@link Launcher} that runs agents from small helper processes. The first
 * helper starts on the first launch (so an unused launcher costs nothing),
 * more only when the running ones have forks queued (or on `warmUp()`); one
 * that dies fails its in-flight agents with `E_LAUNCHER` and is replaced on
 * the next launch. If the host dies, even by SIGKILL, each
 * helper sees its channel close, kills every agent tree it started and exits.
 *
 * @example
 * const spawner = new Spawner({ launcher: new HelperLauncher({ helpers: 2 }) });
 * // or simply: new Spawner({ launcher: 'helper', helpers: 2 })
 */
export class HelperLauncher implements Launcher {
  readonly #command: HelperCommand;
  readonly #startTimeoutMs: number | undefined;
  // One entry per helper slot; undefined until first needed, replaced when its helper dies.
  readonly #slots: (HelperProcess | undefined)[];
  // Slot where the search for the least-loaded helper starts, so ties rotate.
  #next = 0;
  #closed: Promise<void> | undefined;

  /** Starts nothing yet. Throws a ConfigError unless `helpers` is a positive integer. */
  constructor(options: HelperLauncherOptions = {}) {
    const helpers = checkHelpers(options.helpers ?? DEFAULT_HELPERS);
    this.#slots = Array.from({ length: helpers }, () => undefined);
    this.#command = helperCommand(options.entry);
    this.#startTimeoutMs = options.startTimeoutMs;
  }

  /** Pids of the helper processes now running (for monitoring and tests). */
  get pids(): number[] {
    return this.#slots.flatMap((h) => (h?.alive && h.pid !== undefined ? [h.pid] : []));
  }

  /** Hands the agent to a helper (starting one if none is up); after `close()` it exits at once with `E_CLOSED`. */
  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    if (this.#closed) {
      queueMicrotask(() => events.exited(closedExit(request.agent)));
      return { abort: () => {} };
    }
    return this.#pick().launch(request, events);
  }

  /** Closes every helper: each kills the agent trees it started, then exits. Idempotent. */
  async close(): Promise<void> {
    this.#closed ??= Promise.all(this.#slots.map((h) => h?.close())).then(() => {});
    return this.#closed;
  }

  /**
   * Starts every helper not running yet and resolves once all are up (never
   * rejects; a helper that fails to start is replaced at the next launch).
   * Each start is a fork of this process: warming up while the host is
   * still small, or before timing-critical work, keeps that cost out of it.
   */
  async warmUp(): Promise<void> {
    if (this.#closed) return;
    for (let i = 0; i < this.#slots.length; i++) if (!this.#slots[i]?.alive) this.#slots[i] = new HelperProcess(this.#command, this.#startTimeoutMs);
    await Promise.all(this.#slots.map((h) => h?.started));
  }

  /**
   * The helper for the next launch: a started one if any (a launch should not
   * wait for a process start when a helper is already up), then the one with
   * the fewest forks queued; ties rotate. When even that one has forks queued,
   * one more helper is started for later launches, one start at a time.
   */
  #pick(): HelperProcess {
    const n = this.#slots.length;
    let best: number | undefined;
    let free: number | undefined;
    let starting = false;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const helper = this.#slots[i];
      if (helper === undefined || !helper.alive) {
        free ??= i;
        continue;
      }
      if (!helper.up) starting = true;
      if (best === undefined || rank(helper) < rank(this.#slots[best]!)) best = i;
    }
    if (best === undefined) {
      best = free!;
      this.#slots[best] = new HelperProcess(this.#command, this.#startTimeoutMs);
    } else if (this.#slots[best]!.pendingSpawns > 0 && free !== undefined && !starting) {
      this.#slots[free] = new HelperProcess(this.#command, this.#startTimeoutMs);
    }
    this.#next = (best + 1) % n;
    return this.#slots[best]!;
  }
}

/** Validates the `helpers` option. */
function checkHelpers(helpers: number): number {
  if (Number.isInteger(helpers) && helpers >= 1) return helpers;
  throw new ConfigError(`Expected the \`helpers\` option to be a positive integer, got \`${String(helpers)}\``);
}

/** Up before starting; then forks queued; running agents (pipes to read) only break ties. */
function rank(helper: HelperProcess): number {
  return (helper.up ? 0 : 1e12) + helper.pendingSpawns * 1e6 + helper.inFlight;
}

function closedExit(agent: string): LaunchExit {
  return notStartedExit('E_CLOSED', `Agent "${agent}": the launcher was closed`);
}
