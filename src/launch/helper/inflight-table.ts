/**
 * The launches one helper has been sent and has not reported the exit of,
 * by request id, with the count of those still waiting for their fork (the
 * helper's queue, by which the launcher picks a helper) and the waiters for
 * the table to empty (close()).
 */
import { wallClockMs } from '../../metrics/record.ts';
import type { LaunchEvents } from '../types.ts';
import type { InFlight } from './helper-failure.ts';

export class InFlightTable {
  readonly #entries = new Map<number, InFlight>();
  #pendingSpawns = 0;
  #nextId = 1;
  #idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.#entries.size;
  }

  /** Entries without a pid yet. */
  get pendingSpawns(): number {
    return this.#pendingSpawns;
  }

  add(agent: string, events: LaunchEvents): { id: number; entry: InFlight } {
    const id = this.#nextId++;
    const entry: InFlight = { agent, events, pid: undefined, spawnedAt: 0, aborted: false };
    this.#entries.set(id, entry);
    this.#pendingSpawns++;
    return { id, entry };
  }

  get(id: number): InFlight | undefined {
    return this.#entries.get(id);
  }

  has(id: number): boolean {
    return this.#entries.has(id);
  }

  ids(): IterableIterator<number> {
    return this.#entries.keys();
  }

  /** Stamped with the host's clock on arrival (see HelperProcess). */
  spawned(entry: InFlight, pid: number): void {
    entry.pid = pid;
    entry.spawnedAt = wallClockMs();
    this.#pendingSpawns--;
  }

  /** The entry's exit is in; true when that left the table empty. */
  forget(id: number, entry: InFlight): boolean {
    this.#entries.delete(id);
    if (entry.pid === undefined) this.#pendingSpawns--;
    if (this.#entries.size > 0) return false;
    this.#wake();
    return true;
  }

  /** Empties the table (the helper died) and returns what it held. */
  takeAll(): InFlight[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#pendingSpawns = 0;
    this.#wake();
    return all;
  }

  /** Settles once the table is empty (by forget() or takeAll()). */
  whenEmpty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wake(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
