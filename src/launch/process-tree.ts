/**
 * Agents run in their own process group (`detached: true` makes the child a
 * session and group leader), so one `kill(-pgid)` reaches the agent and
 * every descendant that did not leave the group on purpose.
 */
import { isMainThread } from 'node:worker_threads';
import { onExit } from 'signal-exit';
import type { Reaper } from './reaper.ts';

/**
 * Signals the whole group; false when no process of it is ours any more:
 * ESRCH (all gone), or EPERM (the group id has been reused by someone else's
 * process, so ours is gone too).
 */
export function signalTree(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw error;
  }
}

/**
 * The process groups one launcher started and has not yet seen end. While
 * any is alive on a main thread, a hook kills them all if the host exits or
 * is signalled (SIGINT, SIGTERM, ...); a {@link Reaper}, when given, also
 * kills them if the host dies by SIGKILL, and covers launchers on a worker
 * thread, which never see the host's signals. The hook is registered only
 * while needed, so an idle spawner changes nothing in the host's signal
 * handling.
 */
export class LiveTrees {
  // pgids of agents started and not yet reaped.
  readonly #pgids = new Set<number>();
  readonly #reaper: Reaper | undefined;
  #removeHook: (() => void) | undefined;

  constructor(reaper?: Reaper) {
    this.#reaper = reaper;
  }

  add(pgid: number): void {
    this.#pgids.add(pgid);
    this.#reaper?.add(pgid);
    if (isMainThread) this.#removeHook ??= onExit(() => this.killAll('SIGKILL'));
  }

  delete(pgid: number): void {
    this.#pgids.delete(pgid);
    this.#reaper?.delete(pgid);
    if (this.#pgids.size === 0 && this.#removeHook) {
      this.#removeHook();
      this.#removeHook = undefined;
    }
  }

  killAll(signal: NodeJS.Signals): void {
    for (const pgid of this.#pgids) signalTree(pgid, signal);
  }
}
