import fc from 'fast-check';
import { max, mean, min, quantile, quantileSorted } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { latencyStats, MIN_TAIL_SAMPLES, sortedLatencyStats, type LatencyStats } from '../../src/metrics/stats.ts';
import { RollingWindow, type WindowStats } from '../../src/metrics/window.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The straightforward computation (what latencyStats did before it kept anything sorted): sort a copy, read each figure. */
function reference(samples: readonly number[]): LatencyStats {
  const n = samples.length;
  if (n === 0) return { samples: 0, avgMs: undefined, minMs: undefined, maxMs: undefined, p50Ms: undefined, p95Ms: undefined, p99Ms: undefined };
  const sorted = Float64Array.from(samples).sort() as unknown as number[];
  const tail = n >= MIN_TAIL_SAMPLES;
  return {
    samples: n,
    avgMs: mean(sorted),
    minMs: sorted[0],
    maxMs: sorted[n - 1],
    p50Ms: quantileSorted(sorted, 0.5),
    p95Ms: tail ? quantileSorted(sorted, 0.95) : undefined,
    p99Ms: tail ? quantileSorted(sorted, 0.99) : undefined,
  };
}

/** A window over `outcomes`, recomputed from scratch: the last `size` of them. */
function referenceWindow(outcomes: readonly { d: number; ok: boolean }[], size: number): WindowStats {
  const kept = outcomes.slice(-size);
  const succeeded = kept.filter((o) => o.ok).map((o) => o.d);
  return { ...reference(succeeded), count: kept.length, successRate: kept.length === 0 ? undefined : succeeded.length / kept.length };
}

// Durations with ties, signed zeros and NaN: where a sorted structure kept by hand would drift from a sort.
const durationArb = fc.oneof(
  { arbitrary: fc.double({ noDefaultInfinity: false }), weight: 3 },
  { arbitrary: fc.constantFrom(0, -0, 1, 1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 5 }), weight: 2 },
);

describe('latency statistics', () => {
  it('match a direct simple-statistics computation over the same durations', () => {
    const rand = seeded(7);
    for (const n of [20, 21, 100, 1000]) {
      const xs = Array.from({ length: n }, () => rand() * 200);
      const s = latencyStats(xs);
      expect(s.samples).toBe(n);
      expect(s.avgMs).toBeCloseTo(mean(xs), 9);
      expect(s.minMs).toBe(min(xs));
      expect(s.maxMs).toBe(max(xs));
      expect(s.p50Ms).toBe(quantile(xs, 0.5));
      expect(s.p95Ms).toBe(quantile(xs, 0.95));
      expect(s.p99Ms).toBe(quantile(xs, 0.99));
    }
  });

  it('leave p95 and p99 undefined under 20 samples', () => {
    const xs = Array.from({ length: MIN_TAIL_SAMPLES - 1 }, (_, i) => i);
    const s = latencyStats(xs);
    expect(s.p95Ms).toBeUndefined();
    expect(s.p99Ms).toBeUndefined();
    expect(s.p50Ms).toBe(quantile(xs, 0.5));
    expect(latencyStats([]).avgMs).toBeUndefined();
    expect(latencyStats(Array.from({ length: MIN_TAIL_SAMPLES }, (_, i) => i)).p99Ms).toBe(quantile(xs.concat(19), 0.99));
  });

  it('latencyStats and sortedLatencyStats equal the straightforward computation (property)', () => {
    fc.assert(
      fc.property(fc.array(durationArb, { maxLength: 120 }), fc.nat(5), (xs, spare) => {
        expect(latencyStats(xs)).toEqual(reference(xs));
        // Only the first `count` values count, whatever follows them.
        const padded = new Float64Array(xs.length + spare).fill(-1);
        padded.set(Float64Array.from(xs).sort());
        expect(sortedLatencyStats(padded, xs.length)).toEqual(reference(xs));
      }),
      { numRuns: 500 },
    );
  });
});

describe('rolling window', () => {
  it('keeps only the last `size` outcomes and computes the success rate over them', () => {
    const w = new RollingWindow(1000);
    for (let i = 0; i < 1500; i++) w.push(i, i % 4 !== 0);
    const s = w.stats();
    expect(s.count).toBe(1000);
    const kept = Array.from({ length: 1000 }, (_, k) => 500 + k);
    const okKept = kept.filter((i) => i % 4 !== 0);
    expect(s.successRate).toBe(okKept.length / 1000);
    expect(s.samples).toBe(okKept.length);
    expect(s.minMs).toBe(Math.min(...okKept));
    expect(s.p95Ms).toBe(quantile(okKept, 0.95));
  });

  it('equals the window recomputed from scratch after every push (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.record({ d: durationArb, ok: fc.boolean() }), { maxLength: 150 }), (size, outcomes) => {
        const w = new RollingWindow(size);
        for (let i = 0; i < outcomes.length; i++) {
          w.push(outcomes[i]!.d, outcomes[i]!.ok);
          expect(w.stats()).toEqual(referenceWindow(outcomes.slice(0, i + 1), size));
        }
        expect(w.stats().count).toBe(Math.min(size, outcomes.length));
      }),
      { numRuns: 300 },
    );
  });

  it('a full window of 1000, turned over twice with random outcomes, equals the recomputed one', () => {
    const rand = seeded(11);
    const w = new RollingWindow(1000);
    const outcomes: { d: number; ok: boolean }[] = [];
    for (let i = 0; i < 3000; i++) {
      const o = { d: Math.round(rand() * 50) / 4, ok: rand() < 0.9 };
      outcomes.push(o);
      w.push(o.d, o.ok);
      if (i % 250 === 249) expect(w.stats()).toEqual(referenceWindow(outcomes, 1000));
    }
  });

  it('an empty window, and one with no success', () => {
    const w = new RollingWindow(3);
    expect(w.stats()).toEqual({ ...reference([]), count: 0, successRate: undefined });
    for (let i = 0; i < 5; i++) w.push(i, false);
    expect(w.stats()).toEqual({ ...reference([]), count: 3, successRate: 0 });
  });

  it('rejects a bad size', () => {
    expect(() => new RollingWindow(0)).toThrow(/window `size`.*`0`/);
  });
});
