/** The sliding-window rate limit, on a clock the test moves: places, pending reservations, actual start times, closing. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlidingWindowLimiter, type Reservation } from '../../src/harness/rate-limiter.ts';

let clock = 0;
const now = () => clock;

beforeEach(() => {
  clock = 1000;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

/** Moves both the limiter's clock and the timers. */
async function advance(ms: number): Promise<void> {
  clock += ms;
  await vi.advanceTimersByTimeAsync(ms);
}

/** Resolves `reserve()` calls as they come, recording when. */
function track(limit: SlidingWindowLimiter, n: number): { granted: (Reservation & { at: number })[] } {
  const granted: (Reservation & { at: number })[] = [];
  for (let i = 0; i < n; i++) void limit.reserve().then((r) => granted.push(Object.assign(r, { at: clock })));
  return { granted };
}

describe('SlidingWindowLimiter', () => {
  it('grants max places at once, then the next when the first start leaves the window', async () => {
    const limit = new SlidingWindowLimiter({ max: 2, intervalMs: 1000 }, now);
    const { granted } = track(limit, 3);
    await advance(0);
    expect(granted).toHaveLength(2);
    granted[0]!.settle(clock);
    granted[1]!.settle(clock + 200); // started 200 ms later than reserved (slow launch)
    await advance(999);
    expect(granted).toHaveLength(2);
    await advance(1);
    expect(granted).toHaveLength(3);
    expect(granted[2]!.at).toBe(2000);
  });

  it('counts a reservation as taken until its start is known, so a slow launch cannot let a second start into the window', async () => {
    const limit = new SlidingWindowLimiter({ max: 1, intervalMs: 1000 }, now);
    const { granted } = track(limit, 2);
    await advance(0);
    expect(granted).toHaveLength(1);
    // The first spawn takes 5 s to be known: nothing else may start meanwhile, whatever the window says.
    await advance(5000);
    expect(granted).toHaveLength(1);
    granted[0]!.settle(clock); // actual start: now
    await advance(999);
    expect(granted).toHaveLength(1);
    await advance(1);
    expect(granted).toHaveLength(2);
  });

  it('frees the place of a start that did not happen at once', async () => {
    const limit = new SlidingWindowLimiter({ max: 1, intervalMs: 60_000 }, now);
    const { granted } = track(limit, 2);
    await advance(0);
    granted[0]!.settle(undefined);
    await advance(0);
    expect(granted).toHaveLength(2);
    // settle() twice changes nothing
    granted[0]!.settle(clock);
    expect(limit.inUse).toBe(1);
  });

  it('close() rejects waiters and later reservations; granted places stay', async () => {
    const limit = new SlidingWindowLimiter({ max: 1, intervalMs: 1000 }, now);
    const first = await limit.reserve();
    const waiting = limit.reserve();
    limit.close(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    await expect(limit.reserve()).rejects.toThrow('stopped');
    first.settle(clock);
    expect(limit.inUse).toBe(1);
  });

  it('never lets more than max starts into any window, whatever the order of settles (random schedule)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      let s = seed;
      const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const max = 1 + Math.floor(rand() * 4);
      const interval = 100 + Math.floor(rand() * 400);
      const limit = new SlidingWindowLimiter({ max, intervalMs: interval }, now);
      const starts: number[] = [];
      let done = 0;
      const n = 25;
      for (let i = 0; i < n; i++) {
        void limit.reserve().then((r) => {
          // Each start happens 0 to 300 ms after its grant; a few never happen.
          const delay = Math.floor(rand() * 300);
          const happens = rand() > 0.1;
          setTimeout(() => {
            if (happens) starts.push(clock);
            r.settle(happens ? clock : undefined);
            done++;
          }, delay);
        });
      }
      for (let t = 0; t < 2000 && done < n; t++) await advance(50);
      expect(done).toBe(n);
      starts.sort((a, b) => a - b);
      for (let i = 0; i + max < starts.length; i++) expect(starts[i + max]! - starts[i]!).toBeGreaterThanOrEqual(interval);
    }
  });

  it('refuses a bad rule, naming the field', () => {
    expect(() => new SlidingWindowLimiter({ max: 0, intervalMs: 10 })).toThrow(/`max`/);
    expect(() => new SlidingWindowLimiter({ max: 1, intervalMs: -1 })).toThrow(/`intervalMs`/);
  });
});
