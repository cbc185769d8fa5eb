/**
 * Who starts next. Each agent has a lane: its runs in input order, retries
 * ahead of them (GNU parallel puts a retried job back at the front of its
 * queue), its own concurrency (the spec's `maxConcurrent`, a p-limit) and
 * its own rate limits. A run then takes a global slot (`concurrency`, a
 * p-limit) and the overall rate limits, and starts.
 *
 * The order of taking, agent first, is what keeps one agent's limits from
 * holding back the others: a run waiting for its agent's slot or rate holds
 * no global slot. Lanes admit only a few runs at a time into the p-limit
 * queues (at most the lane's concurrency), so retries go ahead of the runs
 * not yet admitted, a slow agent cannot fill the global queue, and no
 * closure exists per run before it is admitted.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { SlidingWindowLimiter, type Reservation } from './rate-limiter.ts';
import type { RateLimit } from './options.ts';

/** The places an admitted run holds. */
export interface Slot {
  /** Time spent getting them (ms). */
  readonly waitedMs: number;
  /** The start happened at `at` (performance.now() ms), or did not (undefined): rate places count from it, or are freed. */
  started(at: number | undefined): void;
  /** Frees the concurrency slots. Idempotent. */
  release(): void;
}

export interface DispatcherOptions {
  concurrency: number;
  /** Every agent that has runs, with its `maxConcurrent` (undefined: none). */
  agents: ReadonlyMap<string, number | undefined>;
  rateLimits: readonly RateLimit[];
  now?: () => number;
}

interface Lane<T> {
  limit: LimitFunction | undefined;
  rates: SlidingWindowLimiter[];
  queue: T[];
  head: number;
  retries: T[];
  /** Admitted, still taking its places. */
  taking: number;
  bound: number;
}

export class Dispatcher<T> {
  readonly #lanes = new Map<string, Lane<T>>();
  readonly #global: LimitFunction | undefined;
  readonly #rates: SlidingWindowLimiter[];
  readonly #now: () => number;
  readonly #start: (item: T, slot: Slot) => void;
  readonly #notStarted: (item: T) => void;
  #stopped: Error | undefined;

  /**
   * `start` is called with each item that got its places (it must call
   * `slot.started()` and `slot.release()`); `notStarted` with each item the
   * dispatcher drops when stopped.
   */
  constructor(options: DispatcherOptions, start: (item: T, slot: Slot) => void, notStarted: (item: T) => void) {
    this.#now = options.now ?? (() => performance.now());
    const now = this.#now;
    this.#global = Number.isFinite(options.concurrency) ? pLimit({ concurrency: options.concurrency, rejectOnClear: true }) : undefined;
    const overall = options.rateLimits.filter((r) => r.agent === undefined);
    this.#rates = overall.map((r) => new SlidingWindowLimiter(r, now));
    for (const [agent, max] of options.agents) {
      const rules = options.rateLimits.filter((r) => r.agent === agent || r.agent === '*');
      this.#lanes.set(agent, {
        limit: max === undefined ? undefined : pLimit({ concurrency: max, rejectOnClear: true }),
        rates: rules.map((r) => new SlidingWindowLimiter(r, now)),
        queue: [],
        head: 0,
        retries: [],
        taking: 0,
        bound: Math.max(1, Math.min(max ?? Number.POSITIVE_INFINITY, options.concurrency)),
      });
    }
    this.#start = start;
    this.#notStarted = notStarted;
  }

  /** Queues a run of `agent` (not started before `pump()`). */
  add(agent: string, item: T): void {
    this.#lane(agent).queue.push(item);
  }

  /** Queues a retry: ahead of the agent's runs not yet admitted. */
  retry(agent: string, item: T): void {
    if (this.#stopped) {
      this.#notStarted(item);
      return;
    }
    this.#lane(agent).retries.push(item);
    this.pump();
  }

  /** Admits what the lanes have room for. */
  pump(): void {
    if (this.#stopped) return;
    for (const lane of this.#lanes.values()) {
      while (lane.taking < lane.bound) {
        const item = lane.retries.length > 0 ? lane.retries.shift()! : lane.head < lane.queue.length ? lane.queue[lane.head++]! : undefined;
        if (item === undefined) break;
        void this.#admit(lane, item);
      }
      // Let the taken part of the queue go.
      if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
        lane.queue = lane.queue.slice(lane.head);
        lane.head = 0;
      }
    }
  }

  /** Starts nothing more: queued and waiting items go to `notStarted`. Items already started are the caller's. Idempotent. */
  stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = new Error(reason);
    this.#global?.clearQueue();
    for (const r of this.#rates) r.close(this.#stopped);
    for (const lane of this.#lanes.values()) {
      lane.limit?.clearQueue();
      for (const r of lane.rates) r.close(this.#stopped);
      const left = [...lane.retries, ...lane.queue.slice(lane.head)];
      lane.retries = [];
      lane.queue = [];
      lane.head = 0;
      for (const item of left) this.#notStarted(item);
    }
  }

  async #admit(lane: Lane<T>, item: T): Promise<void> {
    lane.taking++;
    const t0 = this.#now();
    let slot: Slot;
    try {
      slot = await this.#take(lane, t0);
    } catch {
      // Stopped while waiting: the places taken so far were given back.
      lane.taking--;
      this.#notStarted(item);
      return;
    }
    lane.taking--;
    if (this.#stopped) {
      slot.started(undefined);
      slot.release();
      this.#notStarted(item);
      return;
    }
    this.pump();
    this.#start(item, slot);
  }

  async #take(lane: Lane<T>, t0: number): Promise<Slot> {
    const releases: (() => void)[] = [];
    const places: Reservation[] = [];
    try {
      if (lane.limit) releases.push(await hold(lane.limit));
      for (const r of lane.rates) places.push(await r.reserve());
      if (this.#global) releases.push(await hold(this.#global));
      for (const r of this.#rates) places.push(await r.reserve());
    } catch (error) {
      for (const p of places) p.settle(undefined);
      for (const release of releases) release();
      throw error;
    }
    const waitedMs = this.#now() - t0;
    let released = false;
    return {
      waitedMs,
      started: (at) => {
        for (const p of places) p.settle(at);
      },
      release: () => {
        if (released) return;
        released = true;
        for (const release of releases) release();
      },
    };
  }

  #lane(agent: string): Lane<T> {
    const lane = this.#lanes.get(agent);
    if (lane === undefined) throw new RangeError(`Dispatcher: unknown agent "${agent}"`);
    return lane;
  }
}

/** Takes one of `limit`'s slots until the returned function is called; rejects if its queue is cleared first. */
function hold(limit: LimitFunction): Promise<() => void> {
  return new Promise((resolve, reject) => {
    limit(() => new Promise<void>((done) => resolve(done))).catch(reject);
  });
}
