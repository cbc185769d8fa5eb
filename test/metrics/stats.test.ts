import { max, mean, min, quantile } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { latencyStats, MIN_TAIL_SAMPLES } from '../../src/metrics/stats.ts';
import { RollingWindow } from '../../src/metrics/window.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

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

  it('rejects a bad size', () => {
    expect(() => new RollingWindow(0)).toThrow(/window `size`.*`0`/);
  });
});
