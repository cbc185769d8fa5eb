/**
 * A sliding-window rate limit: at most `max` starts in any `intervalMs`,
 * counted from each start's actual time. LLM APIs limit requests per
 * minute over a rolling window, so that is what this enforces (GNU
 * parallel's `--delay` only spaces starts evenly).
 *
 * A reservation counts from the moment it is granted until its start time
 * is known (the spawn may wait for a slot, then take a few ms to build and
 * launch); from then on it counts until `start + intervalMs`. A start that
 * never happened (the spawn failed, the harness stopped) gives its place
 * back. So however long a launch takes, no window of `intervalMs` ever
 * holds more than `max` actual starts.
 *
 * No package in the dependency tree does this: p-limit bounds concurrency,
 * not rate; BullMQ's limiter lives in Redis.
 */
import { ConfigError } from '../errors.ts';

export interface RateRule {
  /** Starts allowed in any window of `intervalMs`. */
  max: number;
  intervalMs: number;
}

/** A granted place: tell it when the start happened, or that it did not. Idempotent. */
export interface Reservation {
  /** The start happened at `at` (the limiter's clock, ms); undefined: it did not happen, the place is freed. */
  settle(at: number | undefined): void;
}

interface Waiter {
  resolve(reservation: Reservation): void;
  reject(error: unknown): void;
}

/**
 * @example
 * const limit = new SlidingWindowLimiter({ max: 60, intervalMs: 60_000 });
 * const place = await limit.reserve();
 * const startedAt = await startTheAgent();
 * place.settle(startedAt);
 */
export class SlidingWindowLimiter {
  readonly max: number;
  readonly intervalMs: number;
  readonly #now: () => number;
  // Start times of settled reservations still inside the window (at most `max`).
  #starts: number[] = [];
  #pending = 0;
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed: unknown;

  constructor(rule: RateRule, now: () => number = () => performance.now()) {
    if (!Number.isInteger(rule.max) || rule.max < 1)
      throw new ConfigError(`Expected a rate limit's \`max\` to be a positive integer, got \`${String(rule.max)}\``);
    if (!Number.isFinite(rule.intervalMs) || rule.intervalMs <= 0)
      throw new ConfigError(`Expected a rate limit's \`intervalMs\` to be a positive number, got \`${String(rule.intervalMs)}\``);
    this.max = rule.max;
    this.intervalMs = rule.intervalMs;
    this.#now = now;
  }

  /** Places taken now: pending reservations plus starts less than `intervalMs` ago. */
  get inUse(): number {
    this.#prune(this.#now());
    return this.#pending + this.#starts.length;
  }

  /** Waiting for a place. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a place, first come first served; rejects once `close()` is called. */
  reserve(): Promise<Reservation> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise<Reservation>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#pump();
    });
  }

  /** Rejects every waiter with `reason` (and every later `reserve()`); places already granted stay valid. */
  close(reason: unknown): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(reason);
  }

  #grant(): Reservation {
    this.#pending++;
    let settled = false;
    return {
      settle: (at) => {
        if (settled) return;
        settled = true;
        this.#pending--;
        if (at !== undefined) this.#starts.push(at);
        this.#pump();
      },
    };
  }

  #prune(now: number): void {
    // A start at `s` counts while now < s + intervalMs.
    if (this.#starts.length > 0) this.#starts = this.#starts.filter((s) => s + this.intervalMs > now);
  }

  #pump(): void {
    if (this.#closed !== undefined) return;
    const now = this.#now();
    this.#prune(now);
    while (this.#waiters.length > 0 && this.#pending + this.#starts.length < this.max) this.#waiters.shift()!.resolve(this.#grant());
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiters.length === 0 || this.#starts.length === 0) return; // nobody waits, or only pending places block: their settle() pumps
    // The next place frees when the oldest start leaves the window.
    const next = Math.min(...this.#starts) + this.intervalMs - now;
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(next)));
  }
}
