/**
 * Stopping one agent's process tree: the first reason (abort or timeout)
 * wins; SIGTERM to the group, then SIGKILL after the grace. A stop asked for
 * before the spawn event waits for it, as the timeout does, since there is
 * no group to signal until then.
 */
import { signalTree } from './process-tree.ts';

export type StopReason = 'timeout' | 'aborted';

export class TreeStop {
  readonly #killGraceMs: number;
  readonly #timeoutMs: number | undefined;
  #reason: StopReason | undefined;
  #pgid: number | undefined;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(killGraceMs: number, timeoutMs: number | undefined) {
    this.#killGraceMs = killGraceMs;
    this.#timeoutMs = timeoutMs;
  }

  /** Why the agent was stopped, if it was. */
  get reason(): StopReason | undefined {
    return this.#reason;
  }

  /** Idempotent; only the first reason counts. */
  stop(reason: StopReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    if (this.#pgid !== undefined) this.#terminate(this.#pgid);
  }

  /** At the spawn event: a stop already asked for happens now; otherwise the timeout starts. */
  spawned(pgid: number): void {
    this.#pgid = pgid;
    if (this.#reason !== undefined) this.#terminate(pgid);
    else if (this.#timeoutMs !== undefined) this.#timeoutTimer = setTimeout(() => this.stop('timeout'), this.#timeoutMs);
  }

  /**
   * The leader is gone: anything left in its group is a straggler; without
   * this, a grandchild holding the pipes open would keep the result pending.
   */
  leaderExited(): void {
    if (this.#pgid !== undefined) signalTree(this.#pgid, 'SIGKILL');
  }

  /** The agent's result is in: no timer may fire at a group id the OS may reuse. */
  dispose(): void {
    clearTimeout(this.#timeoutTimer);
    clearTimeout(this.#killTimer);
  }

  #terminate(pgid: number): void {
    signalTree(pgid, 'SIGTERM');
    this.#killTimer = setTimeout(() => signalTree(pgid, 'SIGKILL'), this.#killGraceMs);
  }
}
