/**
 * Agents run in their own process group (`detached: true` makes the child a
 * session and group leader), so one `kill(-pgid)` reaches the agent and
 * every descendant that did not leave the group on purpose.
 */
import { onExit } from 'signal-exit';

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

/** True while any process of the group is alive. */
export function treeAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process groups one launcher started and has not yet seen end. While
 * any is alive, a hook kills them all if the host exits or is signalled
 * (SIGINT, SIGTERM, ...): a dying orchestrator leaves no orphan agents.
 * The hook is registered only while needed, so an idle spawner changes
 * nothing in the host's signal handling.
 */
export class LiveTrees {
  // pgids of agents started and not yet reaped.
  readonly #pgids = new Set<number>();
  #removeHook: (() => void) | undefined;

  add(pgid: number): void {
    this.#pgids.add(pgid);
    this.#removeHook ??= onExit(() => this.killAll('SIGKILL'));
  }

  delete(pgid: number): void {
    this.#pgids.delete(pgid);
    if (this.#pgids.size === 0 && this.#removeHook) {
      this.#removeHook();
      this.#removeHook = undefined;
    }
  }

  get size(): number {
    return this.#pgids.size;
  }

  killAll(signal: NodeJS.Signals): void {
    for (const pgid of this.#pgids) signalTree(pgid, signal);
  }
}
