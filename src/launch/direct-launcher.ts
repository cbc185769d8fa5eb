/**
 * Launches agents from this process: from the spawner's launch thread by
 * default, or from the main thread when given as an instance. Simple and
 * fast for a small host; on Linux each spawn forks the host, so its cost
 * grows with the host's memory (see the helper launcher for big hosts).
 */
import { startAgentProcess } from './agent-process.ts';
import { LiveTrees } from './process-tree.ts';
import { Reaper } from './reaper.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, Launcher, LaunchRequest } from './types.ts';

export class DirectLauncher implements Launcher {
  // The agents are this process's children: without a watchdog, a host killed by SIGKILL would orphan them.
  readonly #reaper = new Reaper();
  readonly #trees = new LiveTrees(this.#reaper);
  // Agents launched and not yet exited, with the promise of their exit.
  readonly #running = new Map<LaunchHandle, Promise<void>>();

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

  async close(): Promise<void> {
    for (const handle of this.#running.keys()) handle.abort();
    await Promise.all(this.#running.values());
    this.#reaper.close();
  }
}
