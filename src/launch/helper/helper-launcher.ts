/**
 * Launches agents through helper processes, so the host's main thread never
 * forks: on Linux a fork's cost grows with the forking process's memory, and
 * it is paid synchronously on the calling thread.
 */
import os from 'node:os';
import { ConfigError } from '../../errors.ts';
import { wallClockMs } from '../../metrics/record.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, Launcher, LaunchRequest } from '../types.ts';
import { helperCommand, type HelperCommand } from './helper-command.ts';
import { HelperProcess } from './helper-process.ts';

/**
 * One helper per core, at most 4. Measured on 2 cores (bench/helper-launcher.ts,
 * fan-out): 2 helpers launched 1.5–1.7x as fast as 1, and 4 no faster than 2.
 */
export const DEFAULT_HELPERS = Math.min(4, os.availableParallelism());

export interface HelperLauncherOptions {
  /**
   * Helper processes to spread launches over. Forking is CPU-bound and each
   * helper forks on one core at a time, so more helpers raise the launch rate
   * of a busy fan-out; extra helpers start only when every running one has a
   * fork queued. Default {@link DEFAULT_HELPERS}.
   */
  helpers?: number;
  /** @internal Entry module of the helper (tests start stand-ins). */
  entry?: URL;
}

/**
 * A {@link Launcher} that runs agents from small helper processes. A helper
 * starts on the first launch that needs it (so an unused launcher costs
 * nothing); one that dies fails its in-flight agents with `E_LAUNCHER` and
 * is replaced on the next launch. If the host dies, even by SIGKILL, each
 * helper sees its channel close, kills every agent tree it started and exits.
 *
 * @example
 * const spawner = new Spawner({ launcher: new HelperLauncher({ helpers: 2 }) });
 * // or simply: new Spawner({ launcher: 'helper', helpers: 2 })
 */
export class HelperLauncher implements Launcher {
  readonly #command: HelperCommand;
  // One entry per helper slot; undefined until first needed, replaced when its helper dies.
  readonly #slots: (HelperProcess | undefined)[];
  // Slot where the search for the least-loaded helper starts, so ties rotate.
  #next = 0;
  #closed: Promise<void> | undefined;

  constructor(options: HelperLauncherOptions = {}) {
    const helpers = checkHelpers(options.helpers ?? DEFAULT_HELPERS);
    this.#slots = Array.from({ length: helpers }, () => undefined);
    this.#command = helperCommand(options.entry);
  }

  /** Pids of the helper processes now running (for monitoring and tests). */
  get pids(): number[] {
    return this.#slots.flatMap((h) => (h?.alive && h.pid !== undefined ? [h.pid] : []));
  }

  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    if (this.#closed) {
      queueMicrotask(() => events.exited(closedExit(request.agent)));
      return { abort: () => {} };
    }
    return this.#pick().launch(request, events);
  }

  async close(): Promise<void> {
    this.#closed ??= Promise.all(this.#slots.map((h) => h?.close())).then(() => {});
    return this.#closed;
  }

  /**
   * The running helper with the fewest launches waiting for their fork (ties
   * rotate). A new helper is started only when every running one has a fork
   * queued: starting one is itself a fork of the (possibly big) host.
   */
  #pick(): HelperProcess {
    const n = this.#slots.length;
    let best: number | undefined;
    let free: number | undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const helper = this.#slots[i];
      if (helper === undefined || !helper.alive) {
        free ??= i;
        continue;
      }
      if (best === undefined || load(helper) < load(this.#slots[best]!)) best = i;
    }
    let chosen: number;
    if (best !== undefined && (free === undefined || this.#slots[best]!.pendingSpawns === 0)) chosen = best;
    else chosen = free ?? best!;
    this.#next = (chosen + 1) % n;
    let helper = this.#slots[chosen];
    if (helper === undefined || !helper.alive) {
      helper = new HelperProcess(this.#command);
      this.#slots[chosen] = helper;
    }
    return helper;
  }
}

/** Validates the `helpers` option. */
export function checkHelpers(helpers: number): number {
  if (Number.isInteger(helpers) && helpers >= 1) return helpers;
  throw new ConfigError(`Expected the \`helpers\` option to be a positive integer, got \`${String(helpers)}\``);
}

/** Forks queued first; running agents (pipes to read) only break ties. */
function load(helper: HelperProcess): number {
  return helper.pendingSpawns * 1_000_000 + helper.inFlight;
}

function closedExit(agent: string): LaunchExit {
  return {
    reason: 'spawn-failed',
    pid: undefined,
    exitCode: undefined,
    signal: undefined,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 0,
    at: wallClockMs(),
    error: { code: 'E_CLOSED', message: `Agent "${agent}": the launcher was closed` },
  };
}
