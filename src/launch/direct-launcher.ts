import { startAgentProcess } from './agent-process.ts';
import { LiveTrees } from './process-tree.ts';
import { Reaper } from './reaper.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, Launcher, LaunchRequest } from './types.ts';

/**
 * Launches agents from this process: from the spawner's launch thread with
 * `launcher: 'direct'`, or from the main thread when given as an instance.
 * Simple and fast for a small host; on Linux each spawn forks the host, so
 * its cost grows with the host's memory (HelperLauncher is for big hosts).
 * Each agent leads its own process group, so stopping it stops its whole
 * tree; a watchdog process kills the trees if this process dies.
 *
 * @example
 * const spawner = new Spawner({ launcher: 'direct' });
 * // or, launching from the main thread (for example to wrap it):
 * const launcher = new DirectLauncher();
 * const fromMain = new Spawner({ launcher });
 */
export class DirectLauncher implements Launcher {
  // The agents are this process's children: without a watchdog, a host killed by SIGKILL would orphan them.
  readonly #reaper = new Reaper();
  readonly #trees = new LiveTrees(this.#reaper);
  // Agents launched and not yet exited, with the promise of their exit.
  readonly #running = new Map<LaunchHandle, Promise<void>>();

  /** Spawns the agent in its own process group; a spawn failure arrives as an `exited` event, never a throw. */
  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    let done!: () => void;
    const exited = new Promise<void>((resolve) => (done = resolve));
    const handle = startAgentProcess(
      request,
      {
        ...events,
        exited: (exit: LaunchExit) => {
          this.#running.delete(handle);
          done();
          events.exited(exit);
        },
      },
      this.#trees,
    );
    this.#running.set(handle, exited);
    return handle;
  }

  /** Stops every agent still running (whole process trees) and waits for their exits, then stops the watchdog. */
  async close(): Promise<void> {
    for (const handle of this.#running.keys()) handle.abort();
    await Promise.all(this.#running.values());
    this.#reaper.close();
  }
}
